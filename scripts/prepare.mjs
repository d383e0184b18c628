console.log("prepare: skipped (bootstrap)")
