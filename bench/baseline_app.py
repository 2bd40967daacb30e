"""The baseline the benchmark compares the server with: a bare Flask app served by waitress
that parses the same JSON and inserts (or selects) one SQLite row per request."""
import json
import sqlite3
import sys
import threading

from flask import Flask, request
from waitress import create_server


def make_app(path):
    app = Flask(__name__)
    local = threading.local()

    def conn():
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(path, isolation_level=None, timeout=10)
            local.conn.execute("PRAGMA busy_timeout = 10000")
        return local.conn

    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, body TEXT)")
    setup.commit()
    setup.close()

    @app.post("/api/v1/submissions")
    def create():
        body = request.get_json()
        db = conn()
        db.execute("BEGIN IMMEDIATE")
        job_id = db.execute("INSERT INTO jobs (body) VALUES (?)", (json.dumps(body),)).lastrowid
        db.execute("COMMIT")
        return {"id": str(job_id), "status": "queued"}, 202

    @app.get("/api/v1/submissions/<job_id>")
    def read(job_id):
        row = conn().execute("SELECT id, body FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return {"id": str(row[0]), "params": json.loads(row[1])}

    return app


if __name__ == "__main__":
    server = create_server(make_app(sys.argv[1]), host="127.0.0.1", port=0, threads=int(sys.argv[2]))
    print(f"serving on http://127.0.0.1:{server.effective_port}", flush=True)
    server.run()
