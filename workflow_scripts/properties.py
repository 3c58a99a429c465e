"""Physical constants, QM9 facts, and the keys and names every stage shares, each stated once."""

HARTREE_TO_EV = 27.211386246
EV_TO_MEV = 1000.0

# Elements of QM9 in the order of the per-molecule count columns.
ELEMENTS = ("H", "C", "N", "O", "F")
ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
# Atoms of each element per molecule: the count columns of the metadata, split, subset and prediction tables.
COUNT_COLUMN = {e: f"n_{e}" for e in ELEMENTS}
COUNT_COLUMNS = tuple(COUNT_COLUMN.values())


def contains(table, element: str):
    """Which molecules of ``table`` (any table with the count columns) hold ``element``: the study's element groups."""
    return table[COUNT_COLUMN[element]].to_numpy() > 0

# Molecule sizes a subset without min_atoms / max_atoms keeps: every QM9 molecule (the largest has 29 atoms).
MIN_ATOMS, MAX_ATOMS = 1, 29

# SchNetPack's key of U0 in its databases, batches and model outputs (the name its QM9 class uses; the
# metadata table's column is "U0").
U0 = "energy_U0"
# Each training molecule's loss weight in a batch, read by the training task.
LOSS_WEIGHT = "loss_weight"
# Atom reference arrays (per-element energies) are indexed by atomic number below this, as in SchNetPack.
ZMAX = 100

# The experiment name of the linear reference's results (results/<study>/experiments/linear_reference/seed0),
# beside the trained runs'.
LINEAR_REFERENCE = "linear_reference"

# U0 atom reference energies (Hartree) from the QM9 atomref table.
ATOMREF_U0_HARTREE = {
    "H": -0.500273,
    "C": -37.846772,
    "N": -54.583861,
    "O": -75.064579,
    "F": -99.718730,
}


def atomref_ev(hartree_by_element: dict) -> list[float]:
    """Atom references (Hartree by element symbol) in eV, indexed by atomic number (SchNetPack's atomref layout)."""
    refs = [0.0] * ZMAX
    for symbol, value in hartree_by_element.items():
        refs[ATOMIC_NUMBERS[symbol]] = value * HARTREE_TO_EV
    return refs


def atomref_u0_ev() -> list[float]:
    """U0 atom references in eV, indexed by atomic number (SchNetPack's atomref layout)."""
    return atomref_ev(ATOMREF_U0_HARTREE)


N_QM9_CHARACTERIZED = 130_831

# Scalar properties in the QM9 comment line, in file order, with raw units
# and the unit the metadata table stores them in.
# name: (raw unit, stored unit, factor raw -> stored)
QM9_PROPERTIES = {
    "A": ("GHz", "GHz", 1.0),
    "B": ("GHz", "GHz", 1.0),
    "C": ("GHz", "GHz", 1.0),
    "mu": ("Debye", "Debye", 1.0),
    "alpha": ("Bohr^3", "Bohr^3", 1.0),
    "homo": ("Hartree", "eV", HARTREE_TO_EV),
    "lumo": ("Hartree", "eV", HARTREE_TO_EV),
    "gap": ("Hartree", "eV", HARTREE_TO_EV),
    "r2": ("Bohr^2", "Bohr^2", 1.0),
    "zpve": ("Hartree", "eV", HARTREE_TO_EV),
    "U0": ("Hartree", "eV", HARTREE_TO_EV),
    "U": ("Hartree", "eV", HARTREE_TO_EV),
    "H": ("Hartree", "eV", HARTREE_TO_EV),
    "G": ("Hartree", "eV", HARTREE_TO_EV),
    "Cv": ("cal/(mol K)", "cal/(mol K)", 1.0),
}
