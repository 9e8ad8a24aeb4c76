# The plugin is not installed while it is developed: load it by module name, plus pytester for its tests.
pytest_plugins = ["pytester", "pytest_dbguard.plugin"]
