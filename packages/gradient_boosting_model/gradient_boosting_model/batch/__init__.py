"""Batch scoring: files of houses priced in chunks on a Dask cluster (``score-houses``).

Needs the ``batch`` extra (``pip install 'gradient-boosting-model[batch]'``). The modules, in the
order a job uses them:

- ``sources``: finds the input files, checks their columns and plans their chunks (client side);
- ``reading``: reads one chunk's rows as an Arrow table (on a worker);
- ``columns``: checks the table with the API's rules into a validated batch (on a worker);
- ``pricing``: prices the batch into the prices table's Arrow columns (on a worker);
- ``scoring``: prices a chunk: its batch, and the rows the check left to the API's own path
  (``make_prediction``), rejecting the invalid ones (on a worker);
- ``running``: runs the chunks in this process or on a cluster, handing results back in order
  (``results``: a chunk's, as a worker hands it back);
- ``cluster``: starts a local cluster or connects to one;
- ``writing``: writes prices and rejects (client side);
- ``job``: the whole job and its counts; ``cli``: the ``score-houses`` command.
"""
