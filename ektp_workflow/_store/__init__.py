"""The Store: the only room with SQL, dialect names and the database driver.

A service is given a ``Store`` (``store.Store``) and asks it for a transaction:
``transaction()``, ``reading()`` (one snapshot, no write lock), ``scratch()``
(temporary tables only), ``retrying(work)`` or ``on_driver(work)``. Inside, it calls the
plain functions of this package's modules with the handle it was given:

=============  ===================================================================
``eventlog``   the one event writer: numbers, chains and appends events, one or many
``cards``      cards and their residents: locked for a transition, moved, read
``residents``  registering residents and their cards
``ledger``     the blank ledger: entries and the balances kept beside them
``queue``      the cards waiting for a blank, and what each allocation run saw
``rulesets``   stored rule-set versions and their activations
``jobs``       bulk jobs, so that an interrupted one resumes
``scratch``    temporary tables: NIKs met in a file, lines of an import
``reports``    the counts the reports are made of
``history``    the log read back for audits: pages, replays, comparisons
``lifecycles`` lifecycle definitions stored under their hash
=============  ===================================================================

and below them ``engine`` (engines and their settings), ``driver`` and ``roundtrips``
(statements run on the DBAPI connection; PostgreSQL's two-round-trip transactions),
``stock_rows`` (the rows the ledger moves), ``times`` (how times are stored), ``chain`` (the hash chain's encoding), ``schema``,
``migrations`` (Alembic, loaded only by the commands that change the schema) and
``roles``. Driver errors are translated into ``ektp_workflow.errors`` here.

This ``__init__`` imports nothing, so that ``settings`` can be read without loading
SQLAlchemy.
"""
