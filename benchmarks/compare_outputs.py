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
`diff` lists every file that differs; for a workbook, the zip members that differ. For a change
that changes some text on purpose (a citation), `--same OLD=NEW` compares the first folder's files
with OLD read as NEW (in workbooks, each member), and a manifest.json without the output files'
SHA-256 (the files themselves are compared). Not part of the test suite (it takes a few minutes).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import json
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


def _replaced(data: bytes, same: list[tuple[str, str]]) -> bytes:
    for old, new in same:
        data = data.replace(old.encode(), new.encode())
    return data


def _members(path: Path, same: list[tuple[str, str]]) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: _replaced(z.read(n), same) for n in z.namelist()}


def _zip_diff(a: Path, b: Path, same: list[tuple[str, str]]) -> list[str]:
    ma, mb = _members(a, same), _members(b, [])
    return [n for n in sorted(set(ma) | set(mb)) if ma.get(n) != mb.get(n)]


def _manifest(path: Path, same: list[tuple[str, str]]) -> dict:
    doc = json.loads(_replaced(path.read_bytes(), same))
    for entry in doc.get("outputs", []):
        entry.pop("sha256", None)
    return doc


def _differs(a: Path, b: Path, same: list[tuple[str, str]]) -> list[str] | None:
    """None when the files are the same (after `same`); else the zip members that differ (or [])."""
    if not same:
        if filecmp.cmp(a, b, shallow=False):
            return None
        return _zip_diff(a, b, []) if a.suffix == ".xlsx" else []
    if a.suffix == ".xlsx":
        return _zip_diff(a, b, same) or None
    if a.name == "manifest.json":
        return None if _manifest(a, same) == _manifest(b, []) else []
    return None if _replaced(a.read_bytes(), same) == b.read_bytes() else []


def diff(a: Path, b: Path, same: list[tuple[str, str]]) -> int:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "bundles" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "bundles" not in p.parts}
    differ = 0
    for rel in sorted(files_a | files_b):
        if rel not in files_a or rel not in files_b:
            print(f"only in {'the first' if rel in files_a else 'the second'}: {rel}")
            differ += 1
            continue
        members = _differs(a / rel, b / rel, same)
        if members is not None:
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
    d.add_argument("--same", action="append", default=[], metavar="OLD=NEW",
                   help="text of the first folder's files that reads as NEW in the second")
    args = parser.parse_args()
    if args.command == "run":
        run(args.out, args.sedet.split(), args.configs, args.bundles)
    else:
        raise SystemExit(diff(args.a, args.b, [tuple(x.split("=", 1)) for x in args.same]))


if __name__ == "__main__":
    main()
