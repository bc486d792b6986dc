"""The key areas of early 2020 (data an administrator then changes in the admin)."""

import datetime as dt

from django.db import migrations

# province, city ("" for the whole province), since, observation days, note
KEY_REGIONS = [
    ("湖北省", "", dt.date(2019, 12, 1), 14, "全省"),
    ("浙江省", "温州市", dt.date(2020, 1, 20), 14, ""),
    ("河南省", "信阳市", dt.date(2020, 1, 20), 14, ""),
]


def add(apps, schema_editor):
    KeyRegion = apps.get_model("health", "KeyRegion")
    for province, city, since, days, note in KEY_REGIONS:
        KeyRegion.objects.get_or_create(
            province=province,
            city=city,
            defaults={"since": since, "observation_days": days, "note": note},
        )


def remove(apps, schema_editor):
    KeyRegion = apps.get_model("health", "KeyRegion")
    for province, city, *_ in KEY_REGIONS:
        KeyRegion.objects.filter(province=province, city=city).delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0003_defaults")]
    operations = [migrations.RunPython(add, remove)]
