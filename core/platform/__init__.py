"""The plugin platform: hook specifications, the plugin host, values crossing the boundary."""
