"""``toyrd explore``: serve the live classroom explorer (needs the ``explore`` extra)."""

from __future__ import annotations

__all__ = ["register", "cmd_explore"]


def register(sub, common):
    p = sub.add_parser(
        "explore",
        help="a live explorer in the browser: retrain exactly on every "
        "control change (needs pip install toyrd[explore])",
    )
    p.add_argument("--port", type=int, default=5006, help="port (default 5006; 0: any free port)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument(
        "--out",
        default="explore_out",
        help="folder the Export button writes to (default ./explore_out)",
    )
    p.add_argument(
        "--static",
        metavar="DIR",
        help="write the explorer as a static page into DIR instead of serving it: every model "
        "precomputed and exact, no server, no network (needs bokeh only)",
    )
    p.add_argument(
        "--build-grid",
        metavar="DIR",
        help="train the static explorer's grid of models and write grid.json + grid.bin.gz "
        "into DIR (minutes; the committed grid is toyrd/explore/grid)",
    )
    p.add_argument(
        "--tables-cache",
        metavar="NPZ",
        help="with --build-grid: read the float64 tables from NPZ if it exists, else write them",
    )
    p.set_defaults(func=cmd_explore)


def cmd_explore(args) -> int:
    import os

    from toyrd._output import check_out_file
    from toyrd.errors import ToyrdError

    if args.build_grid:
        from toyrd.explore import write_grid

        write_grid(args.build_grid, tables_cache=args.tables_cache)
        return 0
    if args.static:
        try:
            import bokeh  # noqa: F401
        except ImportError:
            raise ToyrdError("explore --static needs bokeh: pip install 'toyrd[explore]'") from None
        from toyrd.explore import write_static

        sizes = write_static(args.static)
        total = sum(sizes.values())
        print(f"static explorer: {args.static}/index.html ({len(sizes)} files, {total:,} bytes)")
        return 0

    # refused up front, not at the first Export click; nothing is created here
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ToyrdError(f"--out: cannot write into {args.out}: it is a file, not a folder")
    check_out_file(
        "--out", os.path.join(args.out, "probe") if os.path.isdir(args.out) else args.out
    )
    try:
        import bokeh  # noqa: F401
        import panel  # noqa: F401
    except ImportError as exc:
        raise ToyrdError(
            f"explore needs panel and bokeh ({exc.name} is missing): pip install 'toyrd[explore]'"
        ) from None
    from toyrd.explore import serve

    serve(args.port, args.host, show=not args.no_browser, export_dir=args.out)
    return 0
