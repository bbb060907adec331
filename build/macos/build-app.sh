#!/bin/sh
# Build RentDesk.app and a .dmg on macOS (12 or later, Apple silicon or Intel: builds for the machine it runs on).
# Needs: Python 3.11+ (python.org or Homebrew) and the Xcode command-line tools (sips, iconutil, hdiutil).
# Produces: dist/RentDesk.app (double-click to start) and dist/RentDesk-<version>.dmg.
# Signing and notarisation (needed so Gatekeeper opens it without a warning) are at the end, off by
# default: set MACOS_SIGN_IDENTITY ("Developer ID Application: …") and MACOS_NOTARY_PROFILE (a
# `xcrun notarytool store-credentials` profile) to run them.
set -e
cd "$(dirname "$0")/../.."

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# desktop: Flask, SQLCipher, pywebview (+ pyobjc, which drives macOS's own WKWebView: no Qt); build: PyInstaller
.venv/bin/python -m pip install -q -e ".[desktop,build]"

# The app icon: an .icns made from the 1024 px rendering of build/icons/rentdesk.svg.
set_dir=build/out/rentdesk.iconset
rm -rf "$set_dir" && mkdir -p "$set_dir"
for size in 16 32 128 256 512; do
    sips -z $size $size build/icons/rentdesk-1024.png --out "$set_dir/icon_${size}x${size}.png" >/dev/null
    double=$((size * 2))
    sips -z $double $double build/icons/rentdesk-1024.png --out "$set_dir/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$set_dir" -o build/icons/rentdesk.icns

# The spec adds a BUNDLE step on macOS: dist/RentDesk.app next to the dist/rentdesk folder.
.venv/bin/python -m PyInstaller build/rentdesk.spec --distpath dist --workpath build/out/pyinstaller --noconfirm

version=$(.venv/bin/python -c "from importlib.metadata import version; print(version('rentdesk'))")
if [ -n "$MACOS_SIGN_IDENTITY" ]; then
    codesign --deep --force --options runtime --timestamp --sign "$MACOS_SIGN_IDENTITY" dist/RentDesk.app
fi
rm -f "dist/RentDesk-$version.dmg"
hdiutil create -volname RentDesk -srcfolder dist/RentDesk.app -ov -format UDZO "dist/RentDesk-$version.dmg"
if [ -n "$MACOS_SIGN_IDENTITY" ] && [ -n "$MACOS_NOTARY_PROFILE" ]; then
    xcrun notarytool submit "dist/RentDesk-$version.dmg" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
    xcrun stapler staple "dist/RentDesk-$version.dmg"
fi
echo "dist/RentDesk.app and dist/RentDesk-$version.dmg"
