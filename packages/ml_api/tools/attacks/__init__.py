"""The attack suite (issue 12): one module per concern, run by ``python -m tools.attack``.

- ``net``: raw HTTP/1.1 on asyncio sockets; ``probe``: the normal client measured meanwhile
- ``target``: the server under attack (URL + gunicorn master) and its workers' pids and RSS
- ``expectations``: what must hold, per target, as data; ``budget``: how long and how hard
- ``slow``: slowloris, slow body, idle flood; ``headers``: oversized and unfinished heads
- ``bodies``: concurrent maximum-size bodies, escaped-quote bodies; ``paths``: odd requests
- ``workers``: a worker SIGKILLed, workers recycled, both under keep-alive load
"""
