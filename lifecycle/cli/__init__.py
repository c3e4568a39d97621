"""The ``pmo`` command line: a thin face over :mod:`lifecycle.services`.

``main`` lists every command but imports a command's module only when it runs, so ``pmo --help``
stays fast and never imports Prefect, WeasyPrint or SQLAlchemy (a test checks ``sys.modules``).
"""
