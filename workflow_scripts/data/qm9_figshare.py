"""Acquire QM9 from the original figshare deposit and parse it into RawMolecules.

The deposit (Ramakrishnan et al., Sci. Data 1, 140022, 2014) holds three files:
a tarball of 133,885 xyz files in the QM9 extended-xyz format, the atom
reference energies, and the list of 3,054 molecules that failed the geometry
consistency check. Downloads go through ``pooch`` (checksums, a temporary file
moved into place only when verified), try mirrors in order and retry transient
failures: a failed or corrupt download leaves no file behind. The tarball is
never extracted: it is read as a stream and only its regular ``.xyz`` members
are parsed, in memory, so a link, a device or a path outside the folder in it
writes nothing. Parsing is strict: anything
that does not fit the format raises :class:`DataError` naming the file, the
molecule and the line.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import math
import os
import re
import tarfile
import time
import zlib
from pathlib import Path

import numpy as np
import pooch
import requests

from workflow_scripts.properties import ATOMIC_NUMBERS, ATOMREF_U0_HARTREE, QM9_PROPERTIES
from workflow_scripts.data.raw_molecules import DataError, RawMolecules

# figshare file ids of the deposit's files, keyed by their config.yaml name.
FIGSHARE_FILES = {"xyz": "3195389", "atomref": "3195395", "uncharacterized": "3195404"}
# Names the files get in the raw-data folder.
FILE_NAMES = {"xyz": "dsgdb9nsd.xyz.tar.bz2", "atomref": "atomref.txt", "uncharacterized": "uncharacterized.txt"}

_PARSE_PROGRESS_EVERY = 20_000  # log a line every this many molecules parsed
_ATOMREF_COLUMNS = ("zpve", "U0", "U", "H", "G", "Cv")


def _config_key(file_id: str) -> str:
    """The ``data.figshare.checksums`` key of a figshare file id (the id if unknown)."""
    return next((name for name, fid in FIGSHARE_FILES.items() if fid == file_id), file_id)


def sha256_of(path: str | os.PathLike) -> str:
    return pooch.file_hash(str(path), alg="sha256")


def _retryable(err: requests.RequestException) -> str | None:
    """Why ``err`` is worth another attempt on the same mirror (5xx, no connection, a drop, a short body), or
    None when it will not change on retry (a 4xx answer)."""
    if isinstance(err, requests.HTTPError):
        status = err.response.status_code
        return f"HTTP {status} {err.response.reason}" if status >= 500 else None
    if isinstance(err, requests.exceptions.ChunkedEncodingError):  # urllib3 checks the body against Content-Length
        return f"truncated body or connection dropped: {err}"
    return f"connection failed: {err}"


def download_file(
    file_id: str,
    dest: str | os.PathLike,
    mirrors: list[str],
    sha256: str | None = None,
    retries: int = 3,
    timeout: float = 60,
    backoff: float = 1.0,
    progress=None,
) -> str:
    """Download figshare file ``file_id`` to ``dest`` with pooch; return its sha256 hex.

    Mirrors (base URLs; the file's URL is base + id) are tried in order. On one mirror, connection errors, 5xx
    answers and truncated bodies are retried up to ``retries`` attempts with exponential backoff; a 4xx answer
    moves on to the next mirror at once. pooch streams each attempt into a temporary file beside ``dest``, checks
    ``sha256`` and only then moves it to ``dest``, so ``dest`` appears only complete and verified. (pooch's own
    retries, ``Pooch(retry_if_failed=...)``, would retry a 404 and a checksum mismatch too, with fixed sleeps and no
    mirrors: the attempts stay here.)
    """
    dest = Path(dest)
    key = _config_key(file_id)
    known_hash = None if sha256 is None else f"sha256:{sha256.lower()}"
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=timeout)
    failures = []
    for base in mirrors:
        url = base + file_id
        for attempt in range(1, retries + 1):
            if progress:
                progress(f"downloading {key} ({url}), attempt {attempt}/{retries}")
            try:
                pooch.retrieve(url, known_hash, fname=dest.name, path=dest.parent, downloader=downloader)
            except requests.RequestException as err:
                why = _retryable(err)
                if why is None:
                    failures.append(f"{url}: HTTP {err.response.status_code} {err.response.reason}")
                    break
                failures.append(f"{url} (attempt {attempt}): {why}")
                if progress:
                    progress(f"  failed: {why}")
                if attempt < retries:
                    time.sleep(backoff * 2 ** (attempt - 1))
                continue
            except ValueError as err:  # pooch's checksum mismatch; it deleted the download
                got = re.search(r"got ([0-9a-f]{64})", str(err))
                actual = got.group(1) if got else f"another value ({err})"
                raise DataError(
                    f"checksum mismatch for {key} (figshare file {file_id}, {url}): "
                    f"expected sha256 {sha256}, got {actual}. The download was discarded and "
                    f"{dest} was not written. To fix: re-run to download it again (delete any "
                    f"stale copy of {dest} first); if the deposit changed on purpose, set "
                    f"data.figshare.checksums.{key} in config.yaml to {actual}."
                ) from None
            actual = sha256_of(dest)
            if progress:
                progress(f"  {url}: done, {dest.stat().st_size} bytes, sha256 {actual}")
            return actual
    raise DataError(
        f"could not download {key} (figshare file {file_id}) from any mirror:\n  "
        + "\n  ".join(failures)
        + "\nCheck the network connection or the mirrors in data.figshare.mirrors (config.yaml)."
    )


def fetch_figshare(
    raw_dir: str | os.PathLike,
    mirrors: list[str],
    checksums: dict | None,
    progress=None,
    retries: int = 3,
    timeout: float = 60,
    backoff: float = 1.0,
) -> dict:
    """Download the deposit's three files into ``raw_dir``; return name -> sha256.

    A file already present is kept when its checksum matches, or when no
    checksum is given (downloads are atomic, so a present file is complete); a
    present file with the wrong checksum is deleted and downloaded again.
    """
    raw_dir = Path(raw_dir)
    checksums = checksums or {}
    result = {}
    for name, file_id in FIGSHARE_FILES.items():
        dest = raw_dir / FILE_NAMES[name]
        expected = checksums.get(name)
        if dest.is_file():
            actual = sha256_of(dest)
            if expected is None or actual == expected.lower():
                if progress:
                    progress(f"{name}: {dest} already present (sha256 {actual})")
                result[name] = actual
                continue
            if progress:
                progress(f"{name}: {dest} has sha256 {actual}, expected {expected}: downloading again")
            dest.unlink()
        result[name] = download_file(
            file_id,
            dest,
            mirrors,
            sha256=expected,
            retries=retries,
            timeout=timeout,
            backoff=backoff,
            progress=progress,
        )
    return result


@contextlib.contextmanager
def _tar_errors(tar_path: Path):
    """Turn the many ways a damaged archive fails into one clear DataError."""
    try:
        yield
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise DataError(
            f"cannot read the tar archive {tar_path}: {err}. If it is corrupt or incomplete, "
            f"delete it and re-run to download it again."
        ) from err


def _number(token: str) -> float:
    """A QM9 float; the files use Mathematica exponents (``1.2*^-6`` = 1.2e-6)."""
    value = float(token.replace("*^", "e"))
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {token!r}")
    return value


def parse_xyz_text(text: str, source_name: str) -> dict:
    """Parse one QM9 xyz file (the deposit's extended format).

    Layout: atom count; ``gdb <id>`` and the 15 properties of QM9_PROPERTIES;
    one ``element x y z mulliken_charge`` line per atom; harmonic frequencies;
    GDB-17 and B3LYP SMILES; the two InChI strings. Returns ``gdb_id``, ``Z``
    (uint8), ``positions`` (n, 3 Angstrom), ``smiles`` (the GDB-17 one) and
    ``properties`` (name -> float, raw units).
    """
    lines = text.rstrip().splitlines()
    where = source_name
    index = 0
    try:
        n_atoms = int(lines[0])
        if n_atoms < 1:
            raise ValueError("the atom count must be positive")
        index = 1
        header = lines[1].split()
        if len(header) < 2 or header[0] != "gdb":
            raise ValueError("expected 'gdb <id>' and the properties")
        gdb_id = int(header[1])
        where = f"{source_name} (gdb {gdb_id})"
        if len(header) != 2 + len(QM9_PROPERTIES):
            raise ValueError(f"expected {len(QM9_PROPERTIES)} properties after 'gdb <id>'")
        properties = {name: _number(token) for name, token in zip(QM9_PROPERTIES, header[2:])}
        if len(lines) != n_atoms + 5:
            index = min(len(lines), n_atoms + 5) - 1
            raise ValueError(f"the file has {len(lines)} lines, expected {n_atoms + 5} for {n_atoms} atoms")

        atomic_numbers = np.empty(n_atoms, dtype=np.uint8)
        positions = np.empty((n_atoms, 3), dtype=np.float64)
        for i in range(n_atoms):
            index = 2 + i
            tokens = lines[index].split()
            if len(tokens) != 5:
                raise ValueError("expected 'element x y z mulliken_charge'")
            if tokens[0] not in ATOMIC_NUMBERS:
                raise ValueError(f"unknown element {tokens[0]!r} (QM9 has {' '.join(ATOMIC_NUMBERS)})")
            atomic_numbers[i] = ATOMIC_NUMBERS[tokens[0]]
            positions[i] = [_number(token) for token in tokens[1:4]]

        # lines[n_atoms + 2] holds the harmonic frequencies, which are not used.
        index = n_atoms + 3
        smiles = lines[index].split()
        if not smiles:
            raise ValueError("expected the GDB-17 and B3LYP SMILES")
        index = n_atoms + 4
        if not lines[index].lstrip().startswith("InChI="):
            raise ValueError("expected the InChI strings")
    except (ValueError, IndexError) as err:
        line = lines[index] if index < len(lines) else "<missing>"
        raise DataError(f"{where}, line {index + 1}: {err}: {line!r}") from err
    return {
        "gdb_id": gdb_id,
        "Z": atomic_numbers,
        "positions": positions,
        "smiles": smiles[0],
        "properties": properties,
    }


def parse_uncharacterized(text: str) -> set[int]:
    """GDB ids listed in uncharacterized.txt (lines whose first token is an integer).

    The real file has prose and ``====`` rules around a table whose rows start
    with the index, followed by three SMILES and a Coulomb-matrix distance.
    """
    ids = {int(tokens[0]) for tokens in map(str.split, text.splitlines()) if tokens and tokens[0].isdigit()}
    if not ids:
        raise DataError("the uncharacterized-molecule list holds no molecule indices; delete it and download it again")
    return ids


def parse_atomref(text: str) -> dict[str, float]:
    """U0 (Hartree) of the isolated atoms, from atomref.txt: {symbol: U0}.

    Rows are ``symbol ZPVE U(0K) U(298.15K) H(298.15K) G(298.15K) CV``; rows
    that carry the atomic number after the symbol are accepted too.
    """
    u0 = {}
    for line in text.splitlines():
        tokens = line.split()
        if not tokens or tokens[0] not in ATOMIC_NUMBERS:
            continue
        symbol, values = tokens[0], tokens[1:]
        if len(values) == len(_ATOMREF_COLUMNS) + 1 and values[0] == str(ATOMIC_NUMBERS[symbol]):
            values = values[1:]
        try:
            if len(values) != len(_ATOMREF_COLUMNS):
                raise ValueError(f"expected {len(_ATOMREF_COLUMNS)} values ({' '.join(_ATOMREF_COLUMNS)})")
            u0[symbol] = _number(values[_ATOMREF_COLUMNS.index("U0")])
        except ValueError as err:
            raise DataError(f"atomref row for {symbol}: {err}: {line!r}") from err
    missing = [s for s in ATOMIC_NUMBERS if s not in u0]
    if missing:
        raise DataError(f"atomref table lacks rows for {missing}")
    return u0


def _check_atomref(u0: dict[str, float], path: Path) -> None:
    """The study uses properties.ATOMREF_U0_HARTREE; the deposit must agree."""
    for symbol, expected in ATOMREF_U0_HARTREE.items():
        if abs(u0[symbol] - expected) > 1e-9:
            raise DataError(
                f"{path}: U0 of {symbol} is {u0[symbol]} Hartree, but properties.ATOMREF_U0_HARTREE "
                f"has {expected}; the file is not the QM9 atomref table"
            )


def _iter_xyz_texts(tar_path: Path):
    """(member name, text) of each .xyz file, streamed: nothing lands on disk.

    Decompression is left to bz2/gzip file objects: tarfile's own streaming
    decompressor re-slices its whole output buffer on every read, which makes
    the 133,885 small members of the deposit several times slower to read.
    """
    opener = {".bz2": bz2.open, ".gz": gzip.open}.get(tar_path.suffix, open)
    with _tar_errors(tar_path), opener(tar_path, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not (member.isreg() and member.name.endswith(".xyz")):
                continue
            data = tar.extractfile(member).read()
            try:
                text = data.decode("ascii")
            except UnicodeDecodeError as err:
                raise DataError(f"{tar_path}: member {member.name} is not ASCII text ({err})") from err
            yield member.name, text


def read_figshare(raw_dir: str | os.PathLike, max_molecules: int | None = None, progress=None) -> RawMolecules:
    """The characterized QM9 molecules of a downloaded deposit (raw units).

    ``raw_dir`` holds the files of FILE_NAMES (see :func:`fetch_figshare`).
    Uncharacterized molecules are dropped, the rest sorted by gdb id and, with
    ``max_molecules``, cut to the first that many.
    """
    raw_dir = Path(raw_dir)
    paths = {name: raw_dir / file_name for name, file_name in FILE_NAMES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise DataError(f"figshare files missing: {missing}; download them first (fetch_figshare)")
    _check_atomref(parse_atomref(paths["atomref"].read_text()), paths["atomref"])
    uncharacterized = parse_uncharacterized(paths["uncharacterized"].read_text())

    molecules: dict[int, dict] = {}
    sources: dict[int, str] = {}
    n_parsed = n_dropped = 0
    for name, text in _iter_xyz_texts(paths["xyz"]):
        molecule = parse_xyz_text(text, name)
        n_parsed += 1
        if progress and n_parsed % _PARSE_PROGRESS_EVERY == 0:
            progress(f"parsed {n_parsed} xyz files")
        gdb_id = molecule["gdb_id"]
        if gdb_id in sources:
            raise DataError(f"{paths['xyz']}: gdb {gdb_id} appears twice ({sources[gdb_id]} and {name})")
        sources[gdb_id] = name
        if gdb_id in uncharacterized:
            n_dropped += 1
        else:
            molecules[gdb_id] = molecule
    if progress:
        progress(
            f"parsed {n_parsed} xyz files, dropped {n_dropped} uncharacterized "
            f"({len(uncharacterized)} listed), kept {len(molecules)}"
        )

    ids = sorted(molecules)[:max_molecules]
    if not ids:
        raise DataError(f"{paths['xyz']} holds no characterized molecules")
    chosen = [molecules[i] for i in ids]
    records = RawMolecules(
        gdb_id=np.array(ids, dtype=np.int64),
        n_atoms=np.array([len(m["Z"]) for m in chosen], dtype=np.int64),
        atomic_numbers=np.concatenate([m["Z"] for m in chosen]),
        positions=np.concatenate([m["positions"] for m in chosen]),
        smiles=np.array([m["smiles"] for m in chosen], dtype=object),
        properties={p: np.array([m["properties"][p] for m in chosen], dtype=np.float64) for p in QM9_PROPERTIES},
    )
    records.validate()
    return records
