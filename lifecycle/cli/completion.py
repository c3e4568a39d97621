"""``pmo completion bash|zsh|fish [--install]``: shell completion for ``pmo``.

Prints the completion script for the shell (to ``eval`` or save), or with ``--install`` writes it
where that shell looks for completions of the current user:

=====  ===============================================================
shell  file
=====  ===============================================================
bash   ``~/.local/share/bash-completion/completions/pmo`` (bash-completion 2 loads it on demand)
zsh    ``~/.zfunc/_pmo`` (add ``fpath=(~/.zfunc $fpath); autoload -U compinit; compinit`` to ~/.zshrc)
fish   ``~/.config/fish/completions/pmo.fish``
=====  ===============================================================

The scripts call back into ``pmo`` with ``_PMO_COMPLETE`` set, so commands, sub-commands and options
complete from the installed version, including commands added later. This is a matter of the shell,
not of projects: no service is involved.
"""

from __future__ import annotations

from pathlib import Path

import click
from click.shell_completion import get_completion_class

SHELLS = ("bash", "zsh", "fish")
TARGETS = {
    "bash": Path(".local/share/bash-completion/completions/pmo"),
    "zsh": Path(".zfunc/_pmo"),
    "fish": Path(".config/fish/completions/pmo.fish"),
}


def completion_script(shell: str) -> str:
    from lifecycle.cli.main import cli  # the group whose commands are completed (imported here: main imports us lazily)

    cls = get_completion_class(shell)
    if cls is None:  # click knows the three shells above; anything else was refused by the Choice
        raise click.BadParameter(f"no completion for {shell}")
    return cls(cli, {}, "pmo", "_PMO_COMPLETE").source()


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.option("--install", is_flag=True, help="Write the script where the shell finds it (see below).")
def completion_cmd(shell: str, install: bool) -> None:
    """Print (or --install) the shell completion script for bash, zsh or fish.

    \b
    eval "$(pmo completion bash)"        # this shell only
    pmo completion bash --install        # ~/.local/share/bash-completion/completions/pmo
    pmo completion zsh --install         # ~/.zfunc/_pmo (needs fpath=(~/.zfunc $fpath) and compinit)
    pmo completion fish --install        # ~/.config/fish/completions/pmo.fish
    """
    script = completion_script(shell)
    if not install:
        click.echo(script)
        return
    target = Path.home() / TARGETS[shell]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(script + "\n", encoding="utf-8")
    tmp.replace(target)
    click.echo(f"installed {shell} completion in {target}; open a new shell to use it")
