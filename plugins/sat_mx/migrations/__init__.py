"""The SAT plugin's migrations.

Files are named ``sat_mx_NNNN_*.py``: Piccolo imports migration modules by file name.
"""
