#!/usr/bin/env bash
# Installs CanvasEdit's launcher entry and icon for the current user (freedesktop menus: GNOME, KDE, Xfce …).
#
#   bash packaging/install-desktop.sh                  # Terminal=true: the desktop opens your terminal
#   bash packaging/install-desktop.sh --terminal-exec  # for launchers that ignore Terminal=true: run the
#                                                      # editor through xdg-terminal-exec instead
#   bash packaging/install-desktop.sh --uninstall
#
# `canvasedit` must be on PATH (pipx and uv tool put it in ~/.local/bin).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor/scalable/apps"
case "${1:-}" in
  --uninstall)
    rm -f "$apps/canvasedit.desktop" "$icons/canvasedit.svg"
    echo "removed the CanvasEdit launcher"
    exit 0 ;;
  --terminal-exec|"") ;;
  *) echo "usage: $0 [--terminal-exec | --uninstall]" >&2; exit 2 ;;
esac
command -v canvasedit >/dev/null || echo "note: canvasedit is not on PATH yet; the launcher will not start it" >&2
mkdir -p "$apps" "$icons"
install -m 0644 "$here/canvasedit.svg" "$icons/canvasedit.svg"
if [ "${1:-}" = "--terminal-exec" ]; then
  sed -e 's/^Exec=canvasedit %f$/Exec=xdg-terminal-exec canvasedit %f/' -e 's/^Terminal=true$/Terminal=false/' \
    "$here/canvasedit.desktop" > "$apps/canvasedit.desktop"
else
  install -m 0644 "$here/canvasedit.desktop" "$apps/canvasedit.desktop"
fi
chmod 0644 "$apps/canvasedit.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
echo "installed $apps/canvasedit.desktop and $icons/canvasedit.svg"
