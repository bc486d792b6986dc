"""The default observation types and health-code rules (data an administrator then changes)."""

from decimal import Decimal

from django.db import migrations

OBSERVATION_TYPES = [
    # code, name, days, slots
    ("home", "居家隔离观察", 14, ["08:00", "14:00"]),
    ("home_health", "居家健康观察", 14, ["09:00"]),
    ("central", "集中隔离观察", 14, ["08:00", "14:00"]),
]

# code, condition, params, colour, priority, valid hours, reason (zh), reason (en)
RULES = [
    ("confirmed", "flag", {"category": "confirmed"}, "red", 10, 24, "确诊病例", "Confirmed case"),
    ("suspected", "flag", {"category": "suspected"}, "red", 20, 24, "疑似病例", "Suspected case"),
    (
        "close-contact",
        "flag",
        {"category": "close_contact"},
        "red",
        30,
        24,
        "密切接触者",
        "Close contact",
    ),
    (
        "in-observation",
        "in_observation",
        {},
        "red",
        40,
        24,
        "正在居家隔离观察",
        "In home observation",
    ),
    (
        "breach",
        "breach",
        {"days": 14},
        "red",
        50,
        24,
        "14天内有违反隔离规定的记录",
        "Breach of observation in the last 14 days",
    ),
    (
        "fever-checkin",
        "fever",
        {"days": 3},
        "red",
        60,
        24,
        "3天内体温异常（≥37.3℃）",
        "Fever (≥ 37.3 °C) in the last 3 days",
    ),
    (
        "key-area-arrival",
        "key_area_arrival",
        {"days": 14},
        "yellow",
        70,
        24,
        "14天内来自重点地区",
        "Arrived from a key area in the last 14 days",
    ),
    (
        "symptoms-declared",
        "symptoms_declared",
        {"days": 14},
        "yellow",
        80,
        24,
        "14天内申报有症状或接触史",
        "Symptoms or contact declared in the last 14 days",
    ),
    (
        "missed-checkins",
        "missed_checkins",
        {"days": 2, "count": 2},
        "yellow",
        90,
        24,
        "2天内漏报体温2次以上",
        "Two or more missed check-ins in the last 2 days",
    ),
    (
        "fever-medicine",
        "fever_medicine",
        {"days": 3},
        "yellow",
        100,
        24,
        "3天内购买退烧药",
        "Bought fever medicine in the last 3 days",
    ),
]


def forwards(apps, schema_editor):
    ObservationType = apps.get_model("health", "ObservationType")
    HealthCodeRule = apps.get_model("health", "HealthCodeRule")
    for code, name, days, slots in OBSERVATION_TYPES:
        ObservationType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "days": days,
                "slots": slots,
                "fever_threshold": Decimal("37.3"),
            },
        )
    for code, condition, params, colour, priority, hours, reason, reason_en in RULES:
        HealthCodeRule.objects.get_or_create(
            code=code,
            defaults={
                "condition": condition,
                "params": params,
                "colour": colour,
                "priority": priority,
                "valid_hours": hours,
                "reason": reason,
                "reason_en": reason_en,
            },
        )


def backwards(apps, schema_editor):
    apps.get_model("health", "HealthCodeRule").objects.filter(
        code__in=[r[0] for r in RULES]
    ).delete()
    apps.get_model("health", "ObservationType").objects.filter(
        code__in=[t[0] for t in OBSERVATION_TYPES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0002_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
