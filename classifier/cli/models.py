"""``jianfu models``: list, show, promote and roll back the models of the registry."""
from __future__ import annotations

import json

import click

from classifier.cli import cli


def _f(x) -> str:
    return "-" if x is None else f"{x:.4f}"


@cli.group()
def models():
    """The model registry ($JIANFU_MODELS, else the shipped models/ directory).

    \b
    jianfu models list              models, the current one marked *
    jianfu models show NAME         everything its meta.json records, and whether its files are intact
    jianfu models promote NAME      make NAME current, unless it is worse than the current model
    jianfu models rollback          make the previously current model current again
    """


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model.")
def list_command(as_json):
    """Models in the registry, oldest first; * marks the current one."""
    from classifier import config, registry

    found = registry.list_models()
    if as_json:
        for m in found:
            click.echo(json.dumps(m, ensure_ascii=False))
        return
    if not found:
        click.echo(f"no models in {config.models_dir()}")
        return
    width = max(len(m["name"]) for m in found) + 2
    click.echo(f"  {'name':<{width}}{'created':<27}{'labels':>6}{'rows':>7}  {'cv micro':>8}  "
               f"{'held-out micro':>14}  base")
    for m in found:
        mark = "*" if m["current"] else " "
        if "problem" in m:
            click.echo(f"{mark} {m['name']:<{width}}{m['problem']}")
            continue
        click.echo(f"{mark} {m['name']:<{width}}{(m['created'] or '-'):<27}{len(m['labels']):>6}"
                   f"{m['rows'] if m['rows'] is not None else '-':>7}  {_f(m['cv_micro_f1']):>8}  "
                   f"{_f(m['heldout_micro_f1']):>14}  {m['base'] or ''}")


def format_show(info: dict) -> str:
    """A readable summary of :func:`classifier.registry.show`."""
    lines = [f"{info['name']}{'  (current)' if info['current'] else ''}", f"  path      {info['path']}",
             f"  created   {info.get('created', '-')}",
             f"  format    {info.get('format_version')} (needs jianfu {info.get('jianfu_required', '0.1.0')}+)",
             "  versions  " + ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if v),
             "  files     " + ("intact (sizes and SHA-256 match meta.json)" if not info["problems"]
                              else "; ".join(info["problems"]))]
    names = info.get("names") or {}
    lines.append("  labels    " + ", ".join(f"{c} ({names.get(c, c)})" for c in info.get("labels", [])))
    sel = info.get("selected") or {}
    lines.append(f"  model     {'multi-label' if info.get('multilabel') else 'single-label'}, "
                 f"{sel.get('loss')} C={sel.get('C')}, {info.get('n_features')} features")
    data = info.get("training_data") or {}
    lines.append(f"  trained   {data.get('rows')} rows, data sha256 {str(data.get('sha256'))[:16]}…")
    for s in data.get("sources", []):
        if isinstance(s, str):
            lines.append(f"            {s}")
        else:
            extra = f", {len(s['excluded_lines'])} lines left out" if s.get("excluded_lines") else ""
            lines.append(f"            {s['path']} ({s.get('bytes', '?')} bytes, sha256 "
                         f"{str(s.get('sha256'))[:16]}…{extra})")
    for key, title in (("cv_scores", "cv"), ("heldout_scores", "held-out")):
        sc = info.get(key)
        if sc:
            per = ", ".join(f"{c} {m['f1']:.3f}" for c, m in sc.get("per_label", {}).items())
            lines.append(f"  {title + ' F1':<9} micro {sc['micro_f1']:.4f}, macro {sc['macro_f1']:.4f} ({per})")
    comp = info.get("comparison")
    if comp:
        regs = ", ".join(r["label"] for r in comp.get("regressions", [])) or "none"
        lines.append(f"  vs base   '{comp['against']}' on {comp['n']} held-out texts: micro "
                     f"{comp['current']['micro_f1']:.4f} → {comp['candidate']['micro_f1']:.4f}, "
                     f"{comp['changed']} texts changed, regressed labels: {regs}")
    return "\n".join(lines)


@models.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The whole meta.json, plus name, path, current, problems.")
def show(name, as_json):
    """What model NAME is: versions, labels, training data, scores, file integrity."""
    from classifier import registry

    info = registry.show(name)
    click.echo(json.dumps(info, ensure_ascii=False, indent=2) if as_json else format_show(info))


@models.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Promote even if some label got worse, or nothing to compare on.")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=None,
              help="Largest per-label F1 drop accepted [default: 0.02].")
def promote(name, force, tolerance):
    """Make NAME the current model, after comparing it with the current one on held-out data.

    Refused when a label's F1 drops by more than the tolerance (the message names the label and
    the drop), unless --force. Processes already running keep the model they loaded.
    """
    from classifier import registry
    from classifier.comparison import format_comparison, format_regressions

    result = registry.promote(name, force=force,
                              tolerance=registry.DEFAULT_TOLERANCE if tolerance is None else tolerance)
    if result["comparison"]:
        click.echo(f"held-out data: {result['comparison'].get('data')}")
        click.echo(format_comparison(result["comparison"], limit=10))
    if result["regressions"]:
        click.echo(f"warning: promoted despite regressions (--force): "
                   f"{format_regressions(result['regressions'], tolerance or registry.DEFAULT_TOLERANCE)}",
                   err=True)
    click.echo(f"'{name}' is now the current model (was '{result['previous']}')")


@models.command()
def rollback():
    """Make the model that was current before the current one current again."""
    from classifier import registry

    result = registry.rollback()
    click.echo(f"'{result['model']}' is now the current model again (was '{result['previous']}')")
