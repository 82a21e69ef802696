"""Command-line subcommands: each module has ``register(subparsers)`` (see ``captum_ext.cli``)."""
