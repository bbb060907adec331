-- GET / on the hello-world app; only the report.
dofile(os.getenv("WRK_REPORT"))
