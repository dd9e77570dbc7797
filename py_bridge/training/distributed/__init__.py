"""``fit`` on several processes: torchrun launched by the worker (launch.py), one rank each (rank.py)."""
