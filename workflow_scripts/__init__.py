"""Python logic of the QM9 size/element study workflow.

Rules in ``rules/*.smk`` call thin scripts in ``workflow_scripts/scripts``;
everything that can be tested lives in the modules of this package.
"""
