"""The sandbox plugin's migrations.

Files are named ``sandbox_NNNN_*.py``: Piccolo imports migration modules by file name.
"""
