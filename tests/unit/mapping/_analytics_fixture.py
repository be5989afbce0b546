"""The analytics objects' API names, exactly as issue 17 names them: what the tests
expect the presets' ``renewal_metric`` and ``forecast_snapshot`` sections to generate."""

METRIC_OBJECT = "Sfrenew_Renewal_Metric__c"
SNAPSHOT_OBJECT = "Sfrenew_Forecast_Snapshot__c"
