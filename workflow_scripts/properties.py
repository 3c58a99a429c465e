"""Physical constants and QM9 facts shared by every stage."""

HARTREE_TO_EV = 27.211386246
EV_TO_MEV = 1000.0

# Elements of QM9 in the order of the per-molecule count columns.
ELEMENTS = ("H", "C", "N", "O", "F")
ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
SYMBOLS = {z: s for s, z in ATOMIC_NUMBERS.items()}

# U0 atom reference energies (Hartree) from the QM9 atomref table.
ATOMREF_U0_HARTREE = {
    "H": -0.500273,
    "C": -37.846772,
    "N": -54.583861,
    "O": -75.064579,
    "F": -99.718730,
}

N_QM9_TOTAL = 133_885
N_QM9_CHARACTERIZED = 130_831
N_QM9_UNCHARACTERIZED = 3_054

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
