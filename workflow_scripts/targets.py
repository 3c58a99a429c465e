"""The QM9 property a study learns (config ``target``), one entry per property: everything that differs between
targets is stated here once, and every stage reads it from here (no torch or SchNetPack import, so the config
check at parse time can read it too). Adding a property = one entry of ``TARGETS``.

Units: the metadata table (and the ASE database and SchNetPack batches written from it) store each property in
``unit`` (workflow_scripts.properties.QM9_PROPERTIES: energies in eV, the rest as QM9 gives them); results are
shown in ``display_unit``, ``factor`` times the stored value (energies in meV).

Published anchors are test MAEs of models trained on the full QM9 training set (about 110k molecules), in the
display unit: SchNet, Schütt et al. 2018, J. Chem. Phys. 148, 241722; PaiNN, Schütt et al. 2021, ICML (PMLR 139).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflow_scripts.properties import ATOMREF_U0_HARTREE, EV_TO_MEV, QM9_PROPERTIES, U0, atomref_ev

DEFAULT = "U0"  # the thesis's target

SCHNET_2018 = "Schütt et al. 2018, J. Chem. Phys. 148, 241722"
PAINN_2021 = "Schütt et al. 2021, ICML"

# QM9's atom reference table (Hartree per free atom) for the properties it lists (U0, U, H, G).
_ATOMREF_HARTREE = {
    "U0": ATOMREF_U0_HARTREE,
    "U": {"H": -0.498857, "C": -37.845355, "N": -54.582445, "O": -75.063163, "F": -99.717314},
    "H": {"H": -0.497912, "C": -37.844411, "N": -54.581501, "O": -75.062219, "F": -99.716370},
    "G": {"H": -0.510927, "C": -37.861317, "N": -54.598897, "O": -75.079532, "F": -99.733544},
}


# column-name forms of the units (no ^ or / in a column name)
_TAG = {"eV": "eV", "meV": "meV", "D": "D", "Bohr^3": "Bohr3", "Bohr^2": "Bohr2", "cal/mol/K": "cal_molK"}
_SQUARED_TAG = {"eV": "eV2", "D": "D2", "Bohr^3": "Bohr6", "Bohr^2": "Bohr4", "cal/mol/K": "cal_molK2"}
_SQUARED_LABEL = {"eV": "eV²", "D": "D²", "Bohr^3": "Bohr⁶", "Bohr^2": "Bohr⁴", "cal/mol/K": "(cal/mol/K)²"}


@dataclass(frozen=True)
class Target:
    name: str            # config ``target`` and the metadata table's column
    key: str             # SchNetPack's key (schnetpack.datasets.QM9.<name>): database, batches, model outputs
    unit: str            # the unit the metadata table, the ASE database and SchNetPack batches hold it in
    display_unit: str    # the unit of metrics, figures, tables and the report
    factor: float        # display value = factor * stored value
    extensive: bool      # True: a sum over atoms (with a per-element reference); False: the mean over atoms
    title: str           # a plain-word name for titles ("the HOMO-LUMO gap")
    symbol: str          # the short label of axes and table columns ("U0", "gap", "μ")
    output: str = "atomwise"  # the output module: "atomwise" or "dipole" (schnetpack.atomistic.DipoleMoment)
    atomref_hartree: dict | None = None  # QM9's per-element atom references, where QM9 has them
    anchors: dict = field(default_factory=dict)  # representation -> published full-QM9 test MAE (display unit)

    @property
    def energy(self) -> bool:
        """An energy (stored in eV): the ASE calculator of the export applies to U0, U, H and G only."""
        return self.name in ("U0", "U", "H", "G")

    @property
    def unit_tag(self) -> str:
        """The unit as it appears in column names: ``mae_meV``, ``mae_D``, ``mae_Bohr3``."""
        return _TAG[self.display_unit]

    @property
    def stored_tag(self) -> str:
        """The stored unit as it appears in column names: ``U0_true_eV``, ``mu_pred_D``."""
        return _TAG[self.unit]

    @property
    def true_column(self) -> str:
        """The predictions table's column of the reference value (stored unit): ``U0_true_eV``."""
        return f"{self.name}_true_{self.stored_tag}"

    @property
    def pred_column(self) -> str:
        """The predictions table's column of the predicted value (stored unit): ``U0_pred_eV``."""
        return f"{self.name}_pred_{self.stored_tag}"

    def metric(self, name: str) -> str:
        """A metric column in the display unit: ``metric("mae")`` is ``mae_meV`` for the energies (the thesis's
        U0 study's names, unchanged), ``mae_D`` for the dipole moment; ``metric("mae_ci_low")``: ``mae_ci_low_meV``."""
        return f"{name}_{self.unit_tag}"

    @property
    def mse_column(self) -> str:
        """The MSE column, in the stored unit squared (the thesis's Table 2 reports U0's MSE in eV^2): ``mse_eV2``."""
        return f"mse_{_SQUARED_TAG[self.unit]}"

    @property
    def squared_unit(self) -> str:
        """The stored unit squared, for labels: 'eV²', 'D²'."""
        return _SQUARED_LABEL[self.unit]

    def atomref_ev(self) -> list[float] | None:
        """QM9's atom references in the stored unit (eV), by atomic number (SchNetPack's layout); None where QM9
        lists none (the linear reference is fitted then)."""
        return None if self.atomref_hartree is None else atomref_ev(self.atomref_hartree)

    def label(self) -> str:
        """An axis label: 'U0 (meV)'."""
        return f"{self.symbol} ({self.display_unit})"


def _energy(name, key, title, extensive=True, anchors=None, atomref=False):
    assert QM9_PROPERTIES[name][1] == "eV"
    return Target(name, key, "eV", "meV", EV_TO_MEV, extensive, title, name,
                  atomref_hartree=_ATOMREF_HARTREE[name] if atomref else None, anchors=anchors or {})


def _same(name, key, display_unit, title, symbol, extensive, output="atomwise", anchors=None):
    """A property stored in its display unit (QM9's own unit)."""
    assert QM9_PROPERTIES[name][2] == 1.0
    return Target(name, key, display_unit, display_unit, 1.0, extensive, title, symbol, output=output,
                  anchors=anchors or {})


TARGETS: dict[str, Target] = {t.name: t for t in (
    _energy("U0", U0, "the internal energy at 0 K", atomref=True,
            anchors={"schnet": 14.0, "painn": 5.85}),
    _energy("U", "energy_U", "the internal energy at 298 K", atomref=True),
    _energy("H", "enthalpy_H", "the enthalpy at 298 K", atomref=True),
    _energy("G", "free_energy", "the free energy at 298 K", atomref=True),
    # ZPVE grows with the number of vibrational modes, hence with the atoms: extensive, fitted reference
    _energy("zpve", "zpve", "the zero-point vibrational energy"),
    # orbital energies belong to the molecule, not to a sum of atom contributions: intensive (mean over atoms)
    _energy("homo", "homo", "the HOMO energy", extensive=False, anchors={"schnet": 41.0, "painn": 27.6}),
    _energy("lumo", "lumo", "the LUMO energy", extensive=False, anchors={"schnet": 34.0, "painn": 20.4}),
    _energy("gap", "gap", "the HOMO-LUMO gap", extensive=False, anchors={"schnet": 63.0, "painn": 45.7}),
    _same("alpha", "isotropic_polarizability", "Bohr^3", "the isotropic polarizability", "α", True,
          anchors={"schnet": 0.235, "painn": 0.045}),
    _same("r2", "electronic_spatial_extent", "Bohr^2", "the electronic spatial extent", "R²", True),
    _same("Cv", "heat_capacity", "cal/mol/K", "the heat capacity at 298 K", "Cv", True),
    # the dipole moment's magnitude from latent partial charges (SchNetPack's DipoleMoment, predict_magnitude)
    _same("mu", "dipole_moment", "D", "the dipole moment", "μ", False, output="dipole",
          anchors={"schnet": 0.033, "painn": 0.012}),
)}


def get(name: str) -> Target:
    """The entry of ``name``; an unknown name is an error naming the key and the choices."""
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"config: target = {name!r} is not a QM9 property this workflow learns; "
                         f"choices: {', '.join(TARGETS)}") from None


def target_of(config: dict) -> Target:
    """The study's target (config ``target``, U0 by default)."""
    return get(config.get("target", DEFAULT))


def of_settings(settings: dict) -> Target:
    """A run's target from its settings (model.pt, the experiment): ``target`` is there only where it is not U0, so
    the thesis study's settings, and with them its trainings' identity, stay as they were."""
    return get(settings.get("target", DEFAULT))


def any_target(column) -> tuple[str, ...]:
    """The names ``column(target)`` takes over every target: checks that do not know a file's target (a damaged
    file, a curve to resume) accept any one of them."""
    return tuple(dict.fromkeys(column(t) for t in TARGETS.values()))


def anchor(target: Target, representation: str) -> float | None:
    """The published full-QM9 test MAE (display unit) for ``target`` and ``representation``; None if not published."""
    return target.anchors.get(representation)
