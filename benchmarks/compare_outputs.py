"""Write what `sedet` produces for every shipped profile, and compare two such folders byte for byte.

For a change that must not change any output (a refactoring), run this before and after:

    python benchmarks/compare_outputs.py run --out /tmp/before            # on the old code
    python benchmarks/compare_outputs.py run --out /tmp/after --bundles /tmp/before/bundles
    python benchmarks/compare_outputs.py diff /tmp/before /tmp/after

`run` writes, for the bundled sample_data and a `sedet sample --districts 300 --students 300000
--years 3 --seed 1` bundle, and for every profile (--configs, default the repository's configs/,
given by path so that an older copy can be used), the output folder of `sedet determine` plain,
with --per-district, with --public and with both; and the terminal output (stdout, stderr, exit
code) of each run, of `sedet explain` for the first district and of `sedet profiles show`.
`diff` lists every file that differs; for a workbook, the zip members that differ.
Not part of the test suite (it takes a few minutes).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {"plain": [], "per-district": ["--per-district"], "public": ["--public"],
         "per-district-public": ["--per-district", "--public"]}


def _sedet(cmd: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def _record(path: Path, proc: subprocess.CompletedProcess, out: Path) -> None:
    """The terminal output of a command, without the timing lines ("done in 1.2 s") and with the
    output folder written as <out>, so that two `run` folders compare."""
    lines = [ln for ln in proc.stdout.splitlines() if " in " not in ln or not ln.rstrip().endswith(" s")]
    text = f"exit {proc.returncode}\n--- stdout\n" + "\n".join(lines) + f"\n--- stderr\n{proc.stderr}"
    path.write_text(text.replace(str(out), "<out>"))


def run(out: Path, sedet: list[str], configs: Path, bundles: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if bundles is None:
        bundles = out / "bundles"
        if not (bundles / "b300").exists():
            proc = _sedet(sedet, "sample", str(bundles / "b300"), "--districts", "300", "--students", "300000",
                          "--years", "3", "--seed", "1", "--quiet")
            if proc.returncode:
                raise SystemExit(proc.stderr)
    sources = {"sample_data": ROOT / "sample_data", "b300": bundles / "b300"}
    for profile in sorted(configs.glob("*.toml")):
        _record(out / f"profiles-show-{profile.stem}.txt", _sedet(sedet, "profiles", "show", str(profile)), out)
        for name, bundle in sources.items():
            for mode, flags in MODES.items():
                target = out / "runs" / name / profile.stem / mode
                shutil.rmtree(target, ignore_errors=True)
                proc = _sedet(sedet, "determine", str(bundle), "--profile", str(profile), "--out", str(target), *flags)
                target.parent.mkdir(parents=True, exist_ok=True)
                _record(target.with_suffix(".txt"), proc, out)
            with (bundle / "districts.csv").open(newline="", encoding="utf-8") as fh:
                first = next(csv.DictReader(fh))["district_id"]
            _record(out / "runs" / name / profile.stem / "explain.txt",
                    _sedet(sedet, "explain", str(bundle), first, "--profile", str(profile)), out)
        print(f"{profile.stem}: done", file=sys.stderr)


def _zip_diff(a: Path, b: Path) -> list[str]:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        return [n for n in names if n not in za.namelist() or n not in zb.namelist() or za.read(n) != zb.read(n)]


def diff(a: Path, b: Path) -> int:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "bundles" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "bundles" not in p.parts}
    differ = 0
    for rel in sorted(files_a | files_b):
        if rel not in files_a or rel not in files_b:
            print(f"only in {'the first' if rel in files_a else 'the second'}: {rel}")
            differ += 1
        elif not filecmp.cmp(a / rel, b / rel, shallow=False):
            members = _zip_diff(a / rel, b / rel) if rel.suffix == ".xlsx" else []
            print(f"differs: {rel}" + (f" ({', '.join(members)})" if members else ""))
            differ += 1
    print(f"{len(files_a | files_b)} files compared, {differ} differ")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--sedet", default=str(Path(sys.executable).parent / "sedet"), help="the sedet command to run")
    r.add_argument("--configs", type=Path, default=ROOT / "configs", help="folder of the profiles to run")
    r.add_argument("--bundles", type=Path, help="reuse the generated bundles of an earlier `run` folder")
    d = sub.add_parser("diff")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.out, args.sedet.split(), args.configs, args.bundles)
    else:
        raise SystemExit(diff(args.a, args.b))


if __name__ == "__main__":
    main()
