"""RentDesk's pure core: the money, prices, billing and rules both the app and the server run.

Nothing here does I/O or reads the wall clock; times are passed in as whole UTC seconds.
"""
