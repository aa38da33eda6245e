"""Use cases shared by the terminal UI and the command line. Never imports Textual."""
