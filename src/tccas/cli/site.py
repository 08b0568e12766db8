"""Site-mode subcommands ``tccas site <stage>`` (rules of ``workflow/sites.smk``), one per stage of
:mod:`tccas.pipeline.site`: spinup, prior, assimilate, posterior, validate, report (per site), and
calibrate and validation-table (all sites together).

Each handler parses its arguments, loads the site config and calls exactly one stage function.
"""

from __future__ import annotations

from tccas.cli import UserError


def _config(path):
    from tccas.config import ConfigError
    from tccas.site.config import load_sites_config

    try:
        return load_sites_config(path)
    except ConfigError as err:
        raise UserError(str(err)) from None


def _handler(stage: str, *inputs: str, per_site: bool = True):
    """The handler of ``stage_<stage>(config, [site,] *inputs)`` of :mod:`tccas.pipeline.site`."""

    def handle(args) -> int:
        from tccas.io.errors import ProductError
        from tccas.pipeline import site as stages

        config = _config(args.config)
        fn = getattr(stages, f"stage_{stage}")
        try:
            fn(config, *([args.site] if per_site else []), *(getattr(args, name) for name in inputs))
        except (ProductError, FileNotFoundError, KeyError, ValueError) as err:
            raise UserError(str(err).strip('"')) from None
        return 0

    return handle


#: stage → (help, argument names after --config/--site, in the order of the stage function)
_STAGES = {
    "spinup": ("spin-up diagnostics of the prior (pools per cycle, drift)", ("out",)),
    "prior": ("prior run over the whole record", ("out",)),
    "assimilate": ("assimilate the tower streams of the calibration years", ("out",)),
    "posterior": ("posterior run over the whole record with daily sigma", ("fit", "out")),
    "validate": (
        "skill of prior and posterior (CSV and Markdown)",
        ("prior", "posterior", "out", "markdown"),
    ),
    "report": (
        "CalLMIP files, figures and the site's report page",
        ("prior", "posterior", "fit", "skill", "out"),
    ),
}
_HELP = {
    "out": "output file",
    "fit": "fit file written by `tccas site assimilate`",
    "prior": "prior run written by `tccas site prior`",
    "posterior": "posterior run written by `tccas site posterior`",
    "markdown": "Markdown rendering of the skill table",
    "skill": "skill CSV written by `tccas site validate`",
}


def register(subparsers) -> None:
    p = subparsers.add_parser("site", help="flux-tower site mode: spin-up, prior, assimilation, validation")
    stages = p.add_subparsers(dest="stage", metavar="STAGE", required=True)
    for stage, (text, inputs) in _STAGES.items():
        s = stages.add_parser(stage, help=text)
        s.add_argument(
            "--config", required=True, help="site config YAML (workflow/schemas/sites.schema.yaml)"
        )
        s.add_argument("--site", required=True, help="site id, e.g. FR-Pue")
        for name in inputs:
            s.add_argument(f"--{name}", required=True, help=_HELP[name])
        s.set_defaults(func=_handler(stage, *inputs))
    c = stages.add_parser(
        "calibrate", help="joint multi-site calibration of the PFT-level parameters (a prior-parameter file)"
    )
    c.add_argument("--config", required=True, help="site config YAML (its 'calibration' section)")
    c.add_argument("--out", required=True, help="prior-parameter file to write (YAML)")
    c.add_argument("--table", required=True, help="control table to write (CSV)")
    c.set_defaults(func=_handler("calibrate", "out", "table", per_site=False))
    v = stages.add_parser(
        "validation-table", help="the sites' daily GPP/ET/NEE skill in one table (CSV, Markdown)"
    )
    v.add_argument("--config", required=True, help="site config YAML")
    v.add_argument("--skill", required=True, nargs="+", help="skill CSVs written by `tccas site validate`")
    v.add_argument("--out", required=True, help="validation table to write (CSV)")
    v.add_argument("--markdown", required=True, help="its Markdown rendering")
    v.set_defaults(func=_handler("validation_table", "skill", "out", "markdown", per_site=False))
