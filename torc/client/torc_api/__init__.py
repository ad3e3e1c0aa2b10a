"""Torc's Python API by Torc's names (``make_api``, ``create_jobs``, ``iter_documents``,
``map_function_to_jobs``, the ``DefaultApi`` models), over torc-py's gRPC client."""
