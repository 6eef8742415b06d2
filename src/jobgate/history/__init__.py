"""The SQL archive of finished jobs: models, migrations, the outbox archiver, reads.

The engine (Valkey) stays the source of truth while a job lives; once it
ends, the archiver copies it here from the outbox, and reads fall back here
after Valkey lets the job go.
"""
