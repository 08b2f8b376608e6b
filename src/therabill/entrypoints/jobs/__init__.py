"""Background jobs: the same job functions on a PostgreSQL queue or in the web process.

``tasks`` holds the job functions (thin: each calls one service function). On PostgreSQL
``queue`` registers them with procrastinate, whose queue lives in the database, so any
number of ``therabill worker`` processes on any number of machines share the jobs and each
job runs once; with the SQLite default ``inprocess`` runs the same functions on a timer
inside ``therabill run`` / ``therabill serve``.
"""
