"""The ``jianfu`` command line: one module per command, each a thin wrapper over a library call.

User mistakes raise :class:`~classifier.errors.JianfuError`; the group turns them into a one-line
``error: …`` on stderr and exit code 1, never a traceback.
"""
from __future__ import annotations

import sys
import warnings

import click

from classifier import __version__
from classifier.errors import JianfuError

#: Exit codes, documented in the README.
EXIT_OK, EXIT_ERROR, EXIT_ROWS_FAILED = 0, 1, 3


class JianfuGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except JianfuError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


model_option = click.option(
    "--model", "model", default=None, metavar="DIR|NAME",
    help="Model directory or registry name (default: the current model, see 'jianfu models').")


@click.group(cls=JianfuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jianfu")
def cli():
    """jianfu (减负): tag Chinese texts by the burden-reduction problems they raise.

    Categories: 任务过重 task_overload, 信息不对称 information_asymmetry,
    资源匮乏 resource_shortage, 形式主义 formalism (several, or none, per text).
    """
    warnings.showwarning = _one_line_warning


def _register():
    from classifier.cli import corpus, evaluate, explain, models, predict, tag, train  # noqa: F401  (commands register themselves)


def main(argv=None):
    _register()
    cli.main(args=argv, prog_name="jianfu")


