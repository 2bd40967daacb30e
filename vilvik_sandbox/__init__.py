"""The job side of Vilvik: everything that runs outside the server process.

The server starts `python -I -m vilvik_sandbox.zygote`, a clean process that never
imports the server package and holds no secrets. It forks one confined process per
job (`jail`), which runs PyGAD with the user's fitness function (`runner`) and
writes bounded JSON lines back to the server (`channel`).
"""
