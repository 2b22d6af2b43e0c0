"""The command line's parts; :mod:`annotator.cli` is the command itself.

``parser`` builds the arguments of ``annotate CAPTURE...``, ``console`` is what
the command says on standard error while and after it reads (progress,
throughput, one-line notes), ``process`` the settings the console script makes
for its own process only, ``exits`` the exit codes, and ``registry`` the
``annotate registry ...`` subcommands.  The library never imports any of it.
"""
