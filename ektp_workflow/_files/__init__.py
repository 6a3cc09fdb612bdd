"""The files operators bring and take away: CSV files read (residents, NIK lists, the
centre's results) and the HTML report page written. No SQL: what a file holds is
checked against the database by the services that read it."""
