"""The figshare source: download (against a real local HTTP server), the streamed archive, parsing.

The fake deposit holds the first seven real QM9 molecules in the deposit's own
xyz format (values as in the qm9pack CSVs, which were parsed from it), with a
few floats rewritten in the deposit's Mathematica notation (``1.91*^-2``).
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.data import qm9_figshare as fig
from workflow_scripts.properties import ATOMREF_U0_HARTREE, QM9_PROPERTIES
from workflow_scripts.data.metadata import to_table
from workflow_scripts.data.qm9_figshare import FIGSHARE_FILES
from workflow_scripts.data.qm9_qm9pack import read_qm9pack
from workflow_scripts.data.raw_molecules import DataError

# Columns are separated by runs of spaces here for readability; _xyz_file turns
# them into the tabs the deposit uses ("gdb 1" keeps its single space).
XYZ = {
    1: """\
5
gdb 1  1.577118*^2  157.70997  157.70699  0.  13.21  -0.3877  0.1171  0.5048  35.3641  0.044749  -40.47893  -40.476062  -40.475117  -40.498597  6.469
C  -0.0126981359   1.0858041578   0.0080009958  -0.535689
H    0.002150416  -0.0060313176   0.0019761204   0.133921
H   1.0117308433   1.4637511618   0.0002765748   0.133922
H   -0.540815069   1.4475266138  -0.8766437152   0.133923
H  -0.5238136345   1.4379326443   0.9063972942   0.133923
1341.307  1341.3284  1341.365  1562.6731  1562.7453  3038.3205  3151.6034  3151.6788  3151.7078
C  C
InChI=1S/CH4/h1H4  InChI=1S/CH4/h1H4
""",
    2: """\
4
gdb 2  293.60975  293.54111  191.39397  1.6256  9.46  -0.257  0.0829  0.3399  26.1563  0.034358  -56.525887  -56.523026  -56.522082  -56.544961  6.316
N  -0.0404260543   1.0241077531   0.0625637998  -0.707143
H   0.0172574639   0.0125452063  -0.0273771593   0.235712
H   0.9157893661   1.3587451948  -0.0287577581   0.235712
H  -0.5202777357   1.3435321258  -0.7755426124    0.23572
1103.8733  1684.1158  1684.3072  3458.7145  3575.2414  3575.3343
N  N
InChI=1S/H3N/h1H3  InChI=1S/H3N/h1H3
""",
    3: """\
3
gdb 3  799.58812  437.90386  282.94545  1.8511  6.31  -0.2928  0.0687  0.3615  19.0002  0.021375  -76.404702  -76.401867  -76.400922  -76.422349  6.002
O  -0.0343604951   0.9775395708   0.0076015923  -0.589706
H   0.0647664923   0.0205721989   0.0015346341   0.294853
H   0.8717903737   1.3007924048   6.931336*^-4   0.294853
1671.4222  3803.6305  3907.698
O  O
InChI=1S/H2O/h1H2  InChI=1S/H2O/h1H2
""",
    4: """\
4
gdb 4  0.  35.6100361  35.6100361  0.  16.28  -0.2845  0.0506  0.3351  59.5248  0.026841  -77.308427  -77.305527  -77.304583  -77.327429  8.574
C   0.5995394918             0.             1.  -0.207019
C  -0.5995394918             0.             1.  -0.207019
H  -1.6616385861             0.             1.   0.207019
H   1.6616385861             0.             1.   0.207019
549.7648  549.7648  795.2713  795.2713  2078.1131  3455.8096  3557.8599
C#C  C#C
InChI=1S/C2H2/c1-2/h1-2H  InChI=1S/C2H2/c1-2/h1-2H
""",
    5: """\
3
gdb 5  0.  44.593883  44.593883  2.8937  12.99  -0.3604  1.91*^-2  0.3796  48.7476  0.016601  -93.411888  -93.40937  -93.408425  -93.431246  6.278
C  -0.0133239314   1.1324657151   0.0082758861  -0.049656
N   0.0023107217  -0.0191585871   0.0019287305  -0.188473
H  -0.0278026991   2.1989492963   0.0141537903   0.238128
799.0101  799.0101  2198.4393  3490.3686
C#N  C#N
InChI=1S/CHN/c1-2/h1H  InChI=1S/CHN/c1-2/h1H
""",
    6: """\
4
gdb 6  285.48839  38.9823  34.29892  2.1089  14.18  -0.267  -0.0406  0.2263  59.9891  0.026603  -114.483613  -114.480746  -114.479802  -114.505268  6.413
C  -0.0139776956   1.1802114286   0.0077524981  -0.031232
O   0.0023139861  -0.0196636557   0.0021610727  -0.165864
H   0.9149602868    1.789511172   0.0039565555   0.098548
H  -0.9591097173   1.7640179751   0.0171828436   0.098548
1201.9838  1272.5136  1544.4691  1846.4364  2882.3231  2929.819
C=O  C=O
InChI=1S/CH2O/c1-2/h1H2  InChI=1S/CH2O/c1-2/h1H2
""",
    # Ethane is characterized in the real deposit; UNCHARACTERIZED below lists
    # it so that the fixture exercises the drop.
    7: """\
8
gdb 7  80.46225  19.90649  19.90633  0.  23.95  -0.3385  0.1041  0.4426  109.5031  0.074542  -79.764152  -79.760666  -79.759722  -79.787269  10.098
C  -0.0187040036   1.5255820146   0.0104328082  -0.345672
C   0.0021037439  -0.0038819102   0.0019988214  -0.345672
H   0.9948727479   1.9397432357   0.0029412016   0.115222
H  -0.5420761069   1.9236106317  -0.8651173523   0.115225
H  -0.5252411248   1.9141730785   0.9000239916   0.115225
H   0.5254865372  -0.4019078419   0.8775439536   0.115225
H  -1.0114765071  -0.4180337979   0.0095084879   0.115222
H   0.5086261934  -0.3924704005  -0.8876011721   0.115225
308.9725  822.3972  822.7794  1003.6498  1221.5079  1221.9354  1409.4025  1422.7633  1502.2478  1502.5606
CC  CC
InChI=1S/C2H6/c1-2/h1-2H3  InChI=1S/C2H6/c1-2/h1-2H3
""",
}

# Layout of the real uncharacterized.txt (first rows, header and footer kept).
UNCHARACTERIZED = """\




List of molecules among the 133885 GDB9 molecules for which the Corina generated Cartesian coordinates and the B3LYP/6-31G(2df,p) equilibrium geometry lead to
different SMILES and InChI strings when parsed through the program Openbabel. Given are the indices of these molecules in the database, the original GDB17
SMILES, the SMILES generated from the Cartesian coordinates using Openbabel, as well as the L1 norm of the difference between the Coulomb matrices (D_IJ in au)
corresponding to the Corina and B3LYP coordinates.

==============================================================================================================================================================
#   Index                           GDB17 SMILES                         SMILES for B3LYP XYZ              SMILES for Corina generated XYZ              D_IJ
==============================================================================================================================================================
       7                                      CC                                           CC                                           CC            0.000000
      58                               NC(=N)C#N                                    NC(=N)C#N                             [NH]C(=[NH2])C#N            6.036217
      61                               NC(=N)C=O                                    NC(=N)C=O                             [NH]C(=[NH2])C=O            5.631463
      80                        [NH3+]CC([O-])=O                                     NCC(=O)O                               [NH3]CC(=O)[O]            10.09360
==============================================================================================================================================================
"""

ATOMREF = """\
   Atomic reference data for the B3LYP/6-31G(2df,p) level of theory.
=========================================================================================================
Ele-    ZPVE         U (0 K)      U (298.15 K)    H (298.15 K)    G (298.15 K)     CV
ment   Hartree       Hartree        Hartree         Hartree         Hartree        Cal/(Mol Kelvin)
=========================================================================================================
H     0.000000     -0.500273      -0.498857       -0.497912       -0.510927       2.981
C     0.000000    -37.846772     -37.845355      -37.844411      -37.861317       2.981
N     0.000000    -54.583861     -54.582445      -54.581501      -54.598897       2.981
O     0.000000    -75.064579     -75.063163      -75.062219      -75.079532       2.981
F     0.000000    -99.718730     -99.717314      -99.716370      -99.733544       2.981
=========================================================================================================
"""


def _xyz_file(text: str) -> str:
    return re.sub(r" {2,}", "\t", text)


def _tar_bytes(members: dict[str, bytes], mode: str = "w:bz2") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _deposit(xyz: dict[int, str] = XYZ) -> dict[str, bytes]:
    """The three deposit files' bytes, keyed by their FIGSHARE_FILES name."""
    members = {f"dsgdb9nsd_{i:06d}.xyz": _xyz_file(text).encode() for i, text in xyz.items()}
    # Archive order is not gdb order in general; the reader must sort.
    members = dict(reversed(members.items()))
    return {"xyz": _tar_bytes(members), "atomref": ATOMREF.encode(), "uncharacterized": UNCHARACTERIZED.encode()}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeFigshare:
    """A real HTTP server on 127.0.0.1 that plays scripted answers per path.

    ``routes[path]`` is a list of answers ``(status, body, declared_length)``
    consumed in order, the last one repeating; unknown paths answer 404.
    ``log`` records ``(path, status)`` of every request.
    """

    def __init__(self):
        self.routes: dict[str, list[tuple[int, bytes, int | None]]] = {}
        self.log: list[tuple[str, int]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answers = fake.routes.get(self.path)
                if not answers:
                    status, body, length = 404, b"not found", None
                else:
                    status, body, length = answers.pop(0) if len(answers) > 1 else answers[0]
                fake.log.append((self.path, status))
                self.send_response(status)
                # A declared length above len(body) makes a truncated response:
                # HTTP/1.0 closes the connection after the short body.
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def serve(self, mirror: str, file_id: str, *answers):
        self.routes[f"/{mirror}/{file_id}"] = list(answers)

    def mirror(self, name: str) -> str:
        return f"{self.url}/{name}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def ok(body: bytes):
    return (200, body, None)


@pytest.fixture
def server():
    fake = FakeFigshare()
    yield fake
    fake.close()


FAST = {"timeout": 5, "backoff": 0.0}


def test_fetch_and_read_end_to_end(server, tmp_path):
    deposit = _deposit()
    for name, data in deposit.items():
        server.serve("m1", fig.FIGSHARE_FILES[name], ok(data))
    checksums = {name: _sha256(data) for name, data in deposit.items()}
    lines = []
    raw = tmp_path / "raw"

    got = fig.fetch_figshare(raw, [server.mirror("m1")], checksums, progress=lines.append, **FAST)

    assert got == checksums
    assert sorted(p.name for p in raw.iterdir()) == sorted(fig.FILE_NAMES.values())
    assert any("done" in line for line in lines)

    records = fig.read_figshare(raw, progress=lines.append)
    assert records.gdb_id.tolist() == [1, 2, 3, 4, 5, 6]  # gdb 7 is listed as uncharacterized
    assert records.smiles.tolist() == ["C", "N", "O", "C#C", "C#N", "C=O"]
    assert records.smiles.dtype == object
    assert records.n_atoms.tolist() == [5, 4, 3, 4, 3, 4]
    assert records.atomic_numbers[:5].tolist() == [6, 1, 1, 1, 1]
    assert records.atomic_numbers.dtype == np.uint8
    # Mathematica-notation floats.
    assert records.properties["A"][0] == 157.7118
    assert records.properties["lumo"][4] == 0.0191
    water_h2 = records.offsets[2] + 2
    assert records.positions[water_h2].tolist() == [0.8717903737, 1.3007924048, 0.0006931336]
    # A few values by hand, raw units (Hartree, GHz, cal/(mol K)).
    assert records.properties["U0"].tolist()[:3] == [-40.47893, -56.525887, -76.404702]
    assert records.properties["Cv"][5] == 6.413
    assert records.positions[records.offsets[3]].tolist() == [0.5995394918, 0.0, 1.0]
    assert any("dropped 1 uncharacterized" in line for line in lines)

    # A second fetch finds the verified files and downloads nothing.
    n_requests = len(server.log)
    assert fig.fetch_figshare(raw, [server.mirror("m1")], checksums, **FAST) == checksums
    assert len(server.log) == n_requests

    first = fig.read_figshare(raw, max_molecules=3)
    assert first.gdb_id.tolist() == [1, 2, 3]
    assert first.n_atoms.sum() == len(first.positions) == 12


def test_refetch_replaces_file_with_wrong_checksum(server, tmp_path):
    data = UNCHARACTERIZED.encode()
    server.serve("m1", fig.FIGSHARE_FILES["uncharacterized"], ok(data))
    dest = tmp_path / fig.FILE_NAMES["uncharacterized"]
    dest.write_text("stale")
    for name in ("xyz", "atomref"):
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(b"already here")

    fig.fetch_figshare(tmp_path, [server.mirror("m1")], {"uncharacterized": _sha256(data)}, **FAST)

    assert dest.read_bytes() == data
    assert [path for path, _ in server.log] == ["/m1/3195404"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    good = _deposit()["xyz"]
    server.serve("m1", fig.FIGSHARE_FILES["xyz"], ok(good[:-10] + b"corrupted!"))
    dest = tmp_path / fig.FILE_NAMES["xyz"]

    with pytest.raises(DataError) as info:
        fig.download_file("3195389", dest, [server.mirror("m1")], sha256=_sha256(good), **FAST)

    message = str(info.value)
    assert "xyz" in message and _sha256(good) in message
    assert _sha256(good[:-10] + b"corrupted!") in message
    assert "data.figshare.checksums.xyz" in message and "config.yaml" in message
    assert "download it again" in message
    assert list(tmp_path.iterdir()) == []  # no file at dest, no temporary files


def test_404_on_first_mirror_falls_back_to_second(server, tmp_path):
    server.serve("m2", "3195395", ok(ATOMREF.encode()))
    dest = tmp_path / "atomref.txt"

    digest = fig.download_file("3195395", dest, [server.mirror("m1"), server.mirror("m2")], retries=3, **FAST)

    assert dest.read_text() == ATOMREF
    assert digest == _sha256(ATOMREF.encode())
    # A 404 is final for that mirror: one request, no retries.
    assert server.log == [("/m1/3195395", 404), ("/m2/3195395", 200)]


def test_503_is_retried_on_the_same_mirror(server, tmp_path):
    server.serve("m1", "3195395", (503, b"busy", None), ok(ATOMREF.encode()))
    dest = tmp_path / "atomref.txt"
    lines = []

    fig.download_file("3195395", dest, [server.mirror("m1")], retries=3, progress=lines.append, **FAST)

    assert dest.read_text() == ATOMREF
    assert server.log == [("/m1/3195395", 503), ("/m1/3195395", 200)]
    assert any("503" in line for line in lines)


def test_truncated_body_is_retried(server, tmp_path):
    data = UNCHARACTERIZED.encode()
    server.serve("m1", "3195404", (200, data[:100], len(data)), ok(data))
    dest = tmp_path / "uncharacterized.txt"

    fig.download_file("3195404", dest, [server.mirror("m1")], sha256=_sha256(data), **FAST)

    assert dest.read_bytes() == data
    assert len(server.log) == 2


def test_always_truncated_gives_clear_error_and_no_file(server, tmp_path):
    data = UNCHARACTERIZED.encode()
    server.serve("m1", "3195404", (200, data[:100], len(data)))
    dest = tmp_path / "uncharacterized.txt"

    with pytest.raises(DataError) as info:
        fig.download_file("3195404", dest, [server.mirror("m1")], retries=2, **FAST)

    message = str(info.value)
    assert "uncharacterized" in message
    assert "truncated body" in message and f"100 bytes read, {len(data) - 100} more expected" in message
    assert "attempt 1" in message and "attempt 2" in message
    assert len(server.log) == 2
    assert list(tmp_path.iterdir()) == []


def test_all_mirrors_failing_lists_every_url(server, tmp_path):
    dest = tmp_path / "atomref.txt"
    mirrors = [server.mirror("m1"), server.mirror("m2")]

    with pytest.raises(DataError) as info:
        fig.download_file("3195395", dest, mirrors, **FAST)

    message = str(info.value)
    assert f"{mirrors[0]}3195395: HTTP 404" in message
    assert f"{mirrors[1]}3195395: HTTP 404" in message
    assert list(tmp_path.iterdir()) == []


def test_unreachable_mirror_is_a_connection_error(tmp_path):
    closed = FakeFigshare()
    url = closed.mirror("m1")
    closed.close()  # nothing listens on the port any more: connection refused

    with pytest.raises(DataError, match="connection failed"):
        fig.download_file("3195395", tmp_path / "a.txt", [url], retries=2, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_the_archive_is_read_as_a_stream_and_nothing_in_it_is_written(tmp_path):
    """Links, devices and paths outside the folder are never extracted: only regular .xyz members are read, in memory."""
    deposit = _deposit()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(deposit["xyz"]), mode="r:bz2") as real, \
            tarfile.open(fileobj=buffer, mode="w:bz2") as tar:
        for member in real:
            tar.addfile(member, real.extractfile(member))
        for name, kind in (("link.xyz", tarfile.SYMTYPE), ("hard.xyz", tarfile.LNKTYPE), ("dev.xyz", tarfile.CHRTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            tar.addfile(info)
        escaping = tarfile.TarInfo("../escaped.txt")
        escaping.size = 4
        tar.addfile(escaping, io.BytesIO(b"evil"))
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, data in {**deposit, "xyz": buffer.getvalue()}.items():
        (raw / fig.FILE_NAMES[name]).write_bytes(data)

    records = fig.read_figshare(raw)

    assert records.gdb_id.tolist() == [1, 2, 3, 4, 5, 6]  # the regular members (gdb 7 is uncharacterized)
    assert sorted(p.name for p in raw.iterdir()) == sorted(fig.FILE_NAMES.values())
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


def test_parse_xyz_text_reads_one_molecule():
    molecule = fig.parse_xyz_text(_xyz_file(XYZ[3]), "dsgdb9nsd_000003.xyz")

    assert molecule["gdb_id"] == 3
    assert molecule["Z"].tolist() == [8, 1, 1]
    assert molecule["positions"].shape == (3, 3)
    assert molecule["positions"][2, 2] == 6.931336e-4
    assert molecule["smiles"] == "O"
    assert list(molecule["properties"]) == list(QM9_PROPERTIES)
    assert molecule["properties"]["gap"] == 0.3615


def test_parse_xyz_text_keeps_the_gdb17_smiles():
    text = _xyz_file(XYZ[1]).replace("C\tC\n", "C\t[CH4]\n")
    assert fig.parse_xyz_text(text, "x.xyz")["smiles"] == "C"


@pytest.mark.parametrize(
    ("old", "new", "line", "why"),
    [
        ("0.9775395708", "0.97753957O8", 3, "could not convert"),  # letter O for a zero
        ("O\t-0.0343604951", "Xx\t-0.0343604951", 3, "unknown element 'Xx'"),
        ("\t0.294853\n1671", "\n1671", 5, "expected 'element x y z mulliken_charge'"),
        ("\t6.002\n", "\n", 2, "15 properties"),
        ("\t6.002\n", "\tnan\n", 2, "not a finite number"),
        ("InChI=1S/H2O/h1H2\tInChI=1S/H2O/h1H2\n", "", 7, "expected 8 for 3 atoms"),
    ],
)
def test_parse_xyz_text_names_molecule_and_line(old, new, line, why):
    text = _xyz_file(XYZ[3])
    assert old in text
    with pytest.raises(DataError) as info:
        fig.parse_xyz_text(text.replace(old, new), "dsgdb9nsd_000003.xyz")
    message = str(info.value)
    assert message.startswith(f"dsgdb9nsd_000003.xyz (gdb 3), line {line}: ")
    assert why in message


def test_parse_xyz_text_never_evaluates_its_input(tmp_path):
    """Numbers are parsed, never evaluated: each payload is a valid value only to eval (an arithmetic property,
    a coordinate that is code creating a marker file on the way), so an evaluating parser would accept the
    molecule (and create the marker); this one must name the line, and the marker must not exist."""
    marker = tmp_path / "evaluated"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()or(0.9775395708)"  # no blank: one token
    text = _xyz_file(XYZ[3])
    for old, new, line in (("\t-76.404702\t", "\t-76.404702*1\t", 2), ("0.9775395708", code, 3)):
        assert old in text and eval(new.replace(".touch()", ".exists()")) is not None  # a value to eval
        with pytest.raises(DataError, match=rf"^dsgdb9nsd_000003.xyz \(gdb 3\), line {line}: could not convert"):
            fig.parse_xyz_text(text.replace(old, new), "dsgdb9nsd_000003.xyz")
    assert not marker.exists(), "the parser evaluated its input"


def test_parse_xyz_text_bad_atom_count():
    with pytest.raises(DataError, match=r"^broken.xyz, line 1: .*'five'"):
        fig.parse_xyz_text("five\n" + _xyz_file(XYZ[1]).split("\n", 1)[1], "broken.xyz")


def test_read_figshare_names_the_member_with_a_garbled_line(tmp_path):
    garbled = dict(XYZ)
    garbled[4] = XYZ[4].replace("-0.5995394918", "-0.59953#4918")
    for name, data in _deposit(garbled).items():
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(data)

    with pytest.raises(DataError, match=r"dsgdb9nsd_000004\.xyz \(gdb 4\), line 4: .*-0\.59953#4918"):
        fig.read_figshare(tmp_path)


def test_read_figshare_rejects_duplicate_ids(tmp_path):
    duplicated = dict(XYZ)
    duplicated[8] = XYZ[2]  # a second file claiming gdb 2
    for name, data in _deposit(duplicated).items():
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(data)

    with pytest.raises(DataError, match="gdb 2 appears twice"):
        fig.read_figshare(tmp_path)


def test_read_figshare_reports_a_truncated_tarball(tmp_path):
    for name, data in _deposit().items():
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(data)
    tarball = tmp_path / fig.FILE_NAMES["xyz"]
    tarball.write_bytes(tarball.read_bytes()[:-40])

    with pytest.raises(DataError, match="cannot read the tar archive .*delete it and re-run"):
        fig.read_figshare(tmp_path)


def test_read_figshare_reports_missing_files(tmp_path):
    with pytest.raises(DataError, match="figshare files missing"):
        fig.read_figshare(tmp_path)


def test_parse_uncharacterized_real_layout():
    assert fig.parse_uncharacterized(UNCHARACTERIZED) == {7, 58, 61, 80}
    with pytest.raises(DataError):
        fig.parse_uncharacterized("<html>not the list</html>\n")


def test_parse_atomref_matches_constants():
    assert fig.parse_atomref(ATOMREF) == ATOMREF_U0_HARTREE
    # Rows that also carry the atomic number after the symbol.
    with_z = re.sub(r"^([HCNOF]) ", lambda m: f"{m[1]}  {dict(H=1, C=6, N=7, O=8, F=9)[m[1]]} ", ATOMREF, flags=re.M)
    assert with_z != ATOMREF
    assert fig.parse_atomref(with_z) == ATOMREF_U0_HARTREE
    with pytest.raises(DataError, match=r"lacks rows for \['F'\]"):
        fig.parse_atomref(ATOMREF.replace("F     0.000000", "#"))


def test_read_figshare_rejects_a_foreign_atomref(tmp_path):
    for name, data in _deposit().items():
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(data)
    (tmp_path / fig.FILE_NAMES["atomref"]).write_text(ATOMREF.replace("-37.846772", "-37.800000"))

    with pytest.raises(DataError, match="U0 of C is -37.8 Hartree"):
        fig.read_figshare(tmp_path)


def test_records_equal_the_qm9pack_rows(tmp_path):
    """Both sources were made from the same deposit: the normalized forms must agree."""
    from workflow_scripts.data.qm9_qm9pack import read_qm9pack

    try:
        reference = read_qm9pack(max_molecules=6)
    except DataError as err:
        pytest.skip(f"qm9pack not available: {err}")
    for name, data in _deposit().items():
        (tmp_path / fig.FILE_NAMES[name]).write_bytes(data)

    records = fig.read_figshare(tmp_path)

    assert records.gdb_id.tolist() == reference.gdb_id.tolist() == [1, 2, 3, 4, 5, 6]
    assert records.n_atoms.tolist() == reference.n_atoms.tolist()
    assert records.atomic_numbers.tolist() == reference.atomic_numbers.tolist()
    np.testing.assert_allclose(records.positions, reference.positions, rtol=0, atol=1e-9)
    for name in QM9_PROPERTIES:
        np.testing.assert_allclose(
            records.properties[name], reference.properties[name], rtol=1e-12, atol=0, err_msg=name
        )
    # qm9pack's SMILES column is the GDB-17 SMILES for these six molecules.
    assert records.smiles.tolist() == reference.smiles.tolist()


@pytest.mark.workflow
def test_snakefile_with_figshare_source_against_a_local_server(server, tmp_path):
    """The real Snakefile fetches the deposit (first mirror 404) and builds the same metadata as qm9pack."""
    import pyarrow.parquet as pq

    from tests.conftest import run_snakemake

    files = _deposit()
    for name, file_id in FIGSHARE_FILES.items():
        server.serve("m2", file_id, ok(files[name]))
    overlay = {"data": {"source": "figshare", "figshare": {
        "mirrors": [server.mirror("m1"), server.mirror("m2")],
        "checksums": {name: _sha256(body) for name, body in files.items()}, "retries": 1, "timeout_s": 5}}}
    run_snakemake(tmp_path / "wf", overlay, "--cores", "1", "results/data/qm9.parquet")
    table = pq.read_table(tmp_path / "wf/results/data/qm9.parquet").to_pandas()
    assert table["gdb_id"].tolist() == [1, 2, 3, 4, 5, 6]  # gdb 7 is listed as uncharacterized
    assert ("/m1/" + FIGSHARE_FILES["xyz"], 404) in server.log
    reference = to_table(read_qm9pack(max_molecules=6)).to_pandas()
    pd.testing.assert_frame_equal(table.drop(columns=["positions", "atomic_numbers"]),
                                  reference.drop(columns=["positions", "atomic_numbers"]))
