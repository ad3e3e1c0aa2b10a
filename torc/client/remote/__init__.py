"""``torc remote``: workers started over SSH on machines without Slurm (Torc's remote
workers). ``ssh`` runs commands on hosts (the system's OpenSSH client), ``scripts`` holds the
shell each verb runs there, ``commands`` is the CLI."""
