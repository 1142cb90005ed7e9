"""Personal widgets: the Claude Code statusline and the SwiftBar/xbar menu-bar plugin.

Widgets render the snapshot (a small JSON file the import refreshes) and never scan logs; their
modules import only the standard library (and at most msgspec) so a render costs milliseconds.
"""
