from django.urls import path

from messaging import views

urlpatterns = [path("messages/", views.composer, name="messages")]
