"""The ``workbench`` command line: one subcommand per stage, each a thin wrapper."""
