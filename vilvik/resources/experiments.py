"""`client.experiments`: one job over many seeds and a grid of PyGAD parameters."""
from __future__ import annotations

from ..experiment import Experiment
from ..pagination import ListIterator
from .submissions import Resource, _id, function_source, new_idempotency_key

HISTORY_FIELDS = ("generation", "runs", "mean", "p10", "p50", "p90")


class ExperimentsResource(Resource):
    """Create, fetch, list, cancel and delete experiments, and read their history."""

    def _build(self, body):
        return Experiment.from_dict(body, self._client)

    def create(self, base=None, *, seeds=None, repeats=None, seed=None, grid=None, name=None, metadata=None,
               idempotency_key=None, **base_params):
        """Start an experiment: every grid cell runs once with each seed; returns the `Experiment`.

        `base` is a `POST /submissions` body (a dict); PyGAD parameters and `fitness_func`
        may also be given as keyword arguments, which are added to it (`fitness_func` may be a
        plain function, as in `submissions.create`). Give `seeds` (a list) or `repeats` (with an
        optional `seed` the seeds are derived from). `grid` maps a PyGAD parameter to its values.
        """
        body_base = dict(base or {})
        fitness = base_params.pop("fitness_func", None)
        if callable(fitness):
            fitness, name = function_source(fitness)
            base_params.setdefault("fitness_func_entry", name)
        if fitness is not None:
            body_base["fitness_func"] = fitness
        body_base.update(base_params)
        named = {"name": name, "metadata": metadata, "seeds": seeds, "repeats": repeats, "seed": seed,
                 "grid": grid}
        body = {"base": body_base, **{key: value for key, value in named.items() if value is not None}}
        accepted = self._client.request_json("POST", "/experiments", json=body,
                                             idempotency_key=idempotency_key or new_idempotency_key())
        return self._build(accepted)

    def get(self, experiment_id):
        """One experiment: status, counts, and (once a run ended) its ranked cells and best run."""
        return self._build(self._client.request_json("GET", f"/experiments/{_id(experiment_id)}"))

    def list(self, *, limit=None):
        """Your experiments, newest first; iterate for all of them."""
        return ListIterator(self._client, "/experiments", {"limit": limit}, self._build)

    def cancel(self, experiment_id, *, idempotency_key=None):
        """Cancel: queued runs never start (their credits are released), running ones stop."""
        return self._build(self._client.request_json(
            "POST", f"/experiments/{_id(experiment_id)}/cancel",
            idempotency_key=idempotency_key or new_idempotency_key()))

    def delete(self, experiment_id):
        """Delete a finished or cancelled experiment with its runs (the credit ledger keeps its rows)."""
        self._client.request_json("DELETE", f"/experiments/{_id(experiment_id)}")

    def history(self, experiment_id, dataframe=None):
        """Rows of (cell, grid values, generation, runs, mean, p10, p50, p90); a pandas DataFrame
        when pandas is installed, unless `dataframe=False` (`True` requires pandas)."""
        body = self._client.request_json("GET", f"/experiments/{_id(experiment_id)}/history")
        rows = [{"cell": index, **cell["params"], "generation": point["generation"], "runs": cell["runs"],
                 **{name: _number(point[name]) for name in HISTORY_FIELDS[2:]}}
                for index, cell in enumerate(body["cells"]) for point in cell["generations"]]
        if dataframe is False:
            return rows
        try:
            import pandas
        except ImportError:
            if dataframe:
                raise
            return rows
        columns = ["cell", *(body["cells"][0]["params"] if body["cells"] else {}), *HISTORY_FIELDS]
        return pandas.DataFrame(rows, columns=columns)

    def history_csv(self, experiment_id):
        """The history as CSV text (one line per cell and generation)."""
        response = self._client.request("GET", f"/experiments/{_id(experiment_id)}/history",
                                        params={"format": "csv"}, headers={"Accept": "text/csv"})
        with response:
            return response.text


def _number(value):
    return float(value) if isinstance(value, str) else value

