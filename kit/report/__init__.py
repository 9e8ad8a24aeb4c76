"""What a user reads: notebooks run into offline HTML reports (``kit investigate``), and plots."""
