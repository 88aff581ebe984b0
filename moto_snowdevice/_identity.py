"""Who a request or a saved row belongs to: an account ID and a region this service serves.

Written once, and checked before any backend exists: the request layer, the control routes and the
state file's loader all ask here, so nothing a request names can create state that a restart could
not load again.
"""

import os
import re
from functools import lru_cache

# An AWS account ID: exactly twelve ASCII digits (`\d` would take other scripts' digits too)
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# A region's name as AWS spells them (us-east-1, us-iso-east-1, eu-central-2), bounded in length: what a
# state file may hold for a region this service does not list (mars-north-1), when moto allows nonexistent regions
REGION_NAME = re.compile(r"[a-z]{2,10}(?:-[a-z]{1,16}){1,3}-[0-9]{1,2}")


@lru_cache(maxsize=1)
def served_regions() -> tuple[str, ...]:
    """Every region botocore knows, in every partition: boto3 lists none for this service."""
    import botocore.session

    session = botocore.session.get_session()
    return tuple(
        sorted(
            {
                region
                for partition in session.get_available_partitions()
                for region in session.get_available_regions("ec2", partition_name=partition)
            }
        )
    )


def _allow_nonexistent_region() -> bool:
    # moto.settings.allow_unknown_region() reads the same variable the same way
    return os.environ.get("MOTO_ALLOW_NONEXISTENT_REGION", "false").lower() == "true"


def is_account_id(account_id: object) -> bool:
    return isinstance(account_id, str) and ACCOUNT_ID.fullmatch(account_id) is not None


def is_loadable_region(region: object) -> bool:
    """A region a state file may hold: a served one, or one shaped like a region's name."""
    return isinstance(region, str) and (region in served_regions() or REGION_NAME.fullmatch(region) is not None)


def is_served_region(region: object) -> bool:
    """A region a request may use now: a served one, or under MOTO_ALLOW_NONEXISTENT_REGION a loadable one."""
    if not isinstance(region, str):
        return False
    if region in served_regions():
        return True
    return _allow_nonexistent_region() and REGION_NAME.fullmatch(region) is not None
