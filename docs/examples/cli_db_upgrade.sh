timestep db upgrade               # the store of --db / $TIMESTEP_DB: timestep's and DBOS's tables
