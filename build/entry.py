"""PyInstaller's entry script for the bundle: the same `rentdesk` command as the installed one."""

import multiprocessing
import os
import sys

#: What PyInstaller's gi runtime hooks point into the bundle. The Linux bundle uses the system's GTK and
#: WebKit (build/rentdesk.spec leaves their files out), so these must not send GTK, or WebKit's helper
#: processes, looking for typelibs, modules or caches in the bundle.
GTK_VARIABLES = ("GI_TYPELIB_PATH", "GTK_DATA_PREFIX", "GTK_EXE_PREFIX", "GTK_PATH", "PANGO_LIBDIR",
                 "PANGO_SYSCONFDIR", "GDK_PIXBUF_MODULE_FILE", "GIO_MODULE_DIR")


def use_the_system_gtk(environ=os.environ, bundle_dir=None) -> None:
    """Undo the gi runtime hooks: unset their variables, drop the bundle from XDG_DATA_DIRS, and give the
    processes we start (WebKit's, the browser) the library path the user had, not the bundle's."""
    bundle_dir = bundle_dir or getattr(sys, "_MEIPASS", "")
    for name in GTK_VARIABLES:
        environ.pop(name, None)
    bundle_share = os.path.join(bundle_dir, "share")
    dirs = [d for d in environ.get("XDG_DATA_DIRS", "").split(os.pathsep) if d and d.rstrip("/") != bundle_share]
    if dirs:
        environ["XDG_DATA_DIRS"] = os.pathsep.join(dirs)
    else:
        environ.pop("XDG_DATA_DIRS", None)
    # the bootloader saved the user's own value (if any) before putting the bundle first
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        environ["LD_LIBRARY_PATH"] = original
    else:
        environ.pop("LD_LIBRARY_PATH", None)


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program must not re-run main() in child processes
    if getattr(sys, "frozen", False) and sys.platform.startswith("linux"):
        use_the_system_gtk()
    from app.cli import main

    sys.exit(main())
