# Build RentDesk's Windows bundle and installer (run in PowerShell at the repo root, on Windows 10/11 x64).
# Needs: Python 3.11+ (python.org, "py" launcher), Inno Setup 6 (https://jrsoftware.org/isdl.php).
# Produces: dist\rentdesk\rentdesk.exe (one-folder bundle) and dist\rentdesk-<version>-setup.exe.
$ErrorActionPreference = "Stop"
if (-not (Test-Path .venv)) { py -3 -m venv .venv }
.venv\Scripts\python -m pip install -q --upgrade pip
# desktop: Flask, SQLCipher, pywebview (+ pythonnet, which drives Windows' own Edge WebView2: no Qt); build: PyInstaller
.venv\Scripts\python -m pip install -q -e ".[desktop,build]"
.venv\Scripts\python -m PyInstaller build\rentdesk.spec --distpath dist --workpath build\out\pyinstaller --noconfirm
$version = (.venv\Scripts\python -c "from importlib.metadata import version; print(version('rentdesk'))").Trim()
& "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" "/DAppVersion=$version" build\windows\rentdesk.iss
Write-Host "Installer: dist\rentdesk-$version-setup.exe"
