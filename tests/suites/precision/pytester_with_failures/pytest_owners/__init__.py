"""pytest-owners: every test names the team that owns it; the summary counts failures per team."""
