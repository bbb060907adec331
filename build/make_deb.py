"""Package the PyInstaller bundle as a Debian .deb: /opt/rentdesk, /usr/bin/rentdesk, a menu entry and icons.

Usage: python build/make_deb.py [--bundle dist/rentdesk] [--out dist]   (run by `make dist`)
Depends: is worked out like dpkg-shlibdeps would: every library the bundle's ELF files need from
outside the bundle, mapped to the Debian package that holds it on the build machine; plus the system
web view, which `ldd` cannot see (pywebview loads WebKit2GTK 4.1 and GTK 3 through their GObject typelibs).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "build" / "icons"
PACKAGE = "rentdesk"
INSTALL_DIR = "/opt/rentdesk"
MAINTAINER = "RentDesk developers <rentdesk@example.invalid>"

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Version=1.4
Name=RentDesk
GenericName=PBX license rental
GenericName[fr]=Location de licences PBX
Comment=Rent PBX licenses on prepaid service credits, offline on site
Comment[fr]=Louer des licences PBX sur crédits de service prépayés, hors ligne sur site
Exec=rentdesk
TryExec=/opt/rentdesk/rentdesk
Icon=rentdesk
Terminal=false
Categories=Office;Finance;
Keywords=PBX;license;rental;iSC;credit;
StartupNotify=true
Actions=demo;

[Desktop Action demo]
Name=Try the demo (local license server, throwaway data)
Name[fr]=Essayer la démo (serveur de licences local, données jetables)
Exec=rentdesk demo
"""

LAUNCHER = f"""\
#!/bin/sh
# RentDesk: the bundle lives in {INSTALL_DIR}; exec keeps the pid, so signals reach it directly.
exec {INSTALL_DIR}/rentdesk "$@"
"""

POSTINST = """\
#!/bin/sh
set -e
# refresh the menu and icon caches where the desktop has them; a server install has neither
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q /usr/share/applications || true; fi
if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true; fi
exit 0
"""
POSTRM = POSTINST

#: Libraries dpkg -S may not name (loader symlinks, libc's own); the dependency is on libc6 anyway.
ALWAYS = {"libc6"}
#: The window (DESIGN §6): the system's WebKitGTK and GTK, loaded by typelib at run time, so no ELF file of the
#: bundle names them. gir1.2-webkit2-4.1 brings libwebkit2gtk-4.1-0, its JavaScriptCore and libsoup 3.
WEB_VIEW = ("gir1.2-webkit2-4.1", "gir1.2-gtk-3.0")


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("make_deb: no version = \"...\" in pyproject.toml")
    return match.group(1)


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True).stdout.strip()


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def system_libraries(bundle: Path) -> set[str]:
    """Every shared library the bundle's ELF files resolve outside the bundle."""
    internal = bundle / "_internal"
    search = [internal]
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(str(p) for p in search if p.is_dir()))
    found: set[str] = set()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file() or not _is_elf(path):
            continue
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        for line in result.stdout.splitlines():
            match = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
            if match:
                lib = os.path.realpath(match.group(1))
                if not lib.startswith(str(bundle.resolve())):
                    found.add(match.group(1))
    return found


def packages_for(libraries: set[str]) -> list[str]:
    """The Debian packages holding these files (dpkg -S), without the architecture suffix."""
    packages = set(ALWAYS) | set(WEB_VIEW)
    for lib in sorted(libraries):
        for candidate in {lib, os.path.realpath(lib)}:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if result.returncode == 0:
                for line in result.stdout.splitlines():
                    names = line.split(":", 1)[0] if ": " in line else line.split(": ")[0]
                    for name in names.split(","):
                        packages.add(name.strip().split(":", 1)[0])
                break
    return sorted(packages)


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link where the file system allows one (same device), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def build_deb(bundle: Path, out_dir: Path, level: int = 6, compression: str = "xz") -> Path:
    bundle = bundle.resolve()
    if not (bundle / "rentdesk").is_file():
        raise SystemExit(f"make_deb: no bundle at {bundle}/rentdesk; run `make dist` (PyInstaller) first")
    ver, arch = version(), architecture()
    depends = packages_for(system_libraries(bundle))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}_{ver}_{arch}.deb"
    # staged next to the output, so the bundle can be hard-linked rather than copied
    with tempfile.TemporaryDirectory(prefix=".rentdesk-deb-", dir=out_dir) as tmp:
        stage = Path(tmp) / "root"
        opt = stage / INSTALL_DIR.lstrip("/")
        shutil.copytree(bundle, opt, symlinks=True, copy_function=_link_or_copy)
        _write(stage / "usr/bin/rentdesk", LAUNCHER, 0o755)
        _write(stage / "usr/share/applications/rentdesk.desktop", DESKTOP_ENTRY)
        for size, name in (("256x256", "rentdesk.png"), ("48x48", "rentdesk-48.png")):
            icon = stage / f"usr/share/icons/hicolor/{size}/apps/rentdesk.png"
            icon.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ICONS / name, icon)
        scalable = stage / "usr/share/icons/hicolor/scalable/apps/rentdesk.svg"
        scalable.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ICONS / "rentdesk.svg", scalable)
        _write(stage / "usr/share/doc/rentdesk/copyright",
               "RentDesk\nThe bundle includes Python and the Python packages listed in\n"
               f"{INSTALL_DIR}/_internal/*.dist-info, each under its own licence. The window is the\n"
               "system's WebKitGTK, installed by Debian's packages named in Depends.\n")
        size_kb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
        control = (
            f"Package: {PACKAGE}\nVersion: {ver}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n"
            f"Installed-Size: {size_kb}\nDepends: {', '.join(depends)}\nSection: misc\nPriority: optional\n"
            "Homepage: https://example.invalid/rentdesk\n"
            "Description: rent PBX licenses on prepaid service credits (iSC)\n"
            " RentDesk lets technicians prepare accounts, PBXs and license changes on a\n"
            " laptop, offline if need be, load signed activation keys, and sync with the\n"
            " vendor's license server later. `rentdesk demo` runs the whole system locally.\n"
        )
        _write(stage / "DEBIAN/control", control)
        _write(stage / "DEBIAN/postinst", POSTINST, 0o755)
        _write(stage / "DEBIAN/postrm", POSTRM, 0o755)
        for path in [stage, *stage.rglob("*")]:  # umask-proof modes: dpkg copies them as they are
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
            elif path.is_file() and not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
        # xz by default: the smallest download over a customer's or a phone's connection; tests use gzip -1 (faster)
        subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", f"-z{level}", "--build", str(stage),
                        str(target)],
                       check=True, stdout=subprocess.DEVNULL)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(ROOT / "dist" / "rentdesk"), help="the PyInstaller one-folder bundle")
    parser.add_argument("--out", default=str(ROOT / "dist"), help="where to write the .deb")
    parser.add_argument("--level", type=int, default=6, choices=range(1, 10), metavar="1-9",
                        help="compression level (tests use 1: the same package, built faster)")
    parser.add_argument("--compression", default="xz", choices=("xz", "gzip"),
                        help="xz (default: the smallest download) or gzip (faster to build)")
    args = parser.parse_args(argv)
    if shutil.which("dpkg-deb") is None:
        print("make_deb: dpkg-deb is missing (this is not Debian); the bundle in dist/rentdesk is still usable",
              file=sys.stderr)
        return 1
    print(build_deb(Path(args.bundle), Path(args.out), args.level, args.compression))
    return 0


if __name__ == "__main__":
    sys.exit(main())
