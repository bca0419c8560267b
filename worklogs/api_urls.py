from rest_framework.routers import SimpleRouter

from worklogs.api import WorkLogViewSet

router = SimpleRouter()
router.register("worklogs", WorkLogViewSet, basename="worklog")

urlpatterns = router.urls
